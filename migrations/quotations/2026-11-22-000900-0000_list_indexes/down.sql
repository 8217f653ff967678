DROP INDEX quotations_recent_idx;
DROP INDEX quotations_source_idx;
DROP INDEX quotations_type_idx;
