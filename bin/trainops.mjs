#!/usr/bin/env node
// Entry point of `trainops`. Runs the compiled program from dist/ when `npm run build`
// has made one, and the TypeScript sources through tsx otherwise.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let entry;
if (existsSync(compiled)) {
  entry = pathToFileURL(compiled).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/main.ts', import.meta.url).href;
}

const { main } = await import(entry);
try {
  process.exit(await main(process.argv.slice(2)));
} catch (error) {
  console.error('trainops: unexpected error:', error instanceof Error ? error.stack : error);
  process.exit(1);
}
