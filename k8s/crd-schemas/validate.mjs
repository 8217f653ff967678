// make k8s-validate: checks the operators' custom resources of a rendered overlay against the
// schemas of their CRDs, which kubernetes-validate does not have.
//
//   node k8s/crd-schemas/validate.mjs target/k8s/dev.yaml
//
// CloudNativePG (postgresql.cnpg.io/v1): the JSON schemas generated from the operator's CRDs by
// @kubernetes-models/cloudnative-pg (npm), validated with its own validator (ajv): types,
// enums, required fields, formats. A CNPG kind the package has no model for fails, so a new kind
// is not let through unchecked. RabbitMQ's operators (rabbitmq.com) publish no schema package
// in the registries this project builds from: their resources are listed as unchecked, and
// kubernetes-validate has already checked their apiVersion/kind/metadata. Exit 1 on any invalid
// resource.
import fs from "node:fs";
import * as yaml from "js-yaml";

const CNPG_GROUP = "postgresql.cnpg.io/v1";
const UNCHECKED_GROUPS = ["rabbitmq.com/"];

const file = process.argv[2];
if (!file) {
  console.error("usage: validate.mjs <rendered.yaml>");
  process.exit(2);
}
let failed = 0;
let checked = 0;
const unchecked = [];
for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
  if (!doc || typeof doc !== "object") continue;
  const name = `${doc.kind}/${doc.metadata?.name}`;
  if (doc.apiVersion === CNPG_GROUP) {
    let Model;
    try {
      Model = (await import(`@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/${doc.kind}`))[doc.kind];
    } catch {
      console.error(`${name}: no CloudNativePG schema for kind ${doc.kind}`);
      failed++;
      continue;
    }
    try {
      new Model(doc).validate();
      checked++;
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      failed++;
    }
  } else if (UNCHECKED_GROUPS.some((g) => String(doc.apiVersion).startsWith(g))) {
    unchecked.push(name);
  }
}
console.log(`   CRD schemas: ${checked} CloudNativePG resource(s) valid` +
  (unchecked.length ? `; no schema available for ${unchecked.join(", ")}` : ""));
process.exit(failed ? 1 : 0);
