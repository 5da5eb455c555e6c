#!/usr/bin/env node
// Fails when generated/ (TypeScript, from `buf generate`) or descriptors/ (the reflection descriptor set,
// from `buf build`) is stale: regenerates both into a temp dir exactly as `npm run generate` does and
// compares file by file.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-gen-'));
const list = (dir) =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort() : [];
try {
  const buf = path.join(root, 'node_modules', '.bin', 'buf');
  execFileSync(buf, ['generate', '--output', tmp], { cwd: root, stdio: 'inherit' });
  fs.mkdirSync(path.join(tmp, 'descriptors'));
  execFileSync(buf, ['build', '--exclude-source-info', '-o', path.join(tmp, 'descriptors', 'task_scheduler.binpb')], { cwd: root, stdio: 'inherit' });
  const stale = [];
  let count = 0;
  for (const dir of ['generated', 'descriptors']) {
    const want = list(path.join(tmp, dir));
    count += want.length;
    for (const file of new Set([...want, ...list(path.join(root, dir))])) {
      const a = path.join(tmp, dir, file);
      const b = path.join(root, dir, file);
      if (!fs.existsSync(a) || !fs.existsSync(b) || !fs.readFileSync(a).equals(fs.readFileSync(b))) stale.push(`${dir}/${file}`);
    }
  }
  if (stale.length > 0) {
    console.error(`generated code is stale (differs from proto/ for: ${stale.join(', ')}). Run \`npm run generate\` and commit the result.`);
    process.exit(1);
  }
  console.log(`generated/ and descriptors/ are up to date (${count} files).`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
