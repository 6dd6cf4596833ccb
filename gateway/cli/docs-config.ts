/** `npm run docs:config`: writes docs/config-reference.md and docs/config.schema.json from the config schema. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { configJsonSchema, renderReference } from './config-reference.js';
import { SchemaComments } from './schema-comments.js';

const schema = configJsonSchema(SchemaComments.read(['gateway', 'drivers', 'tools']));
mkdirSync('docs', { recursive: true });
writeFileSync('docs/config.schema.json', `${JSON.stringify(schema, null, 2)}\n`);
writeFileSync('docs/config-reference.md', renderReference(schema));
process.stdout.write('wrote docs/config-reference.md and docs/config.schema.json\n');
