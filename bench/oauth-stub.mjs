// A minimal OAuth 2.0 token endpoint (RFC 6749 §5.1) for the credential-broker benchmark:
// answers every refresh_token grant with a fresh access token valid one hour.
import http from "node:http";

const port = Number(process.argv[2] ?? 18490);
let n = 0;
http
  .createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      n += 1;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: `bench-access-${n}`, token_type: "Bearer", expires_in: 3600 }));
    });
  })
  .listen(port, "127.0.0.1");
