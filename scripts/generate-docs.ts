/** Writes the generated files (topology JSON Schema, component and error docs) from the code. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../src/reference/generated-files.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const [file, content] of Object.entries(generatedFiles())) {
  await writeFile(path.join(root, file), content);
  process.stdout.write(`wrote ${file}\n`);
}
