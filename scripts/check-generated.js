#!/usr/bin/env node
// Fails when generated/ is stale: regenerates into a temp dir exactly as `npm run generate` does and compares.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-gen-'));
try {
  const buf = path.join(root, 'node_modules', '.bin', 'buf');
  // The same two steps as `npm run generate`: TypeScript, then the reflection descriptor set.
  execFileSync(buf, ['generate', '--output', tmp], { cwd: root, stdio: 'inherit' });
  execFileSync(buf, ['build', '--exclude-source-info', '-o', path.join(tmp, 'generated', 'task_scheduler.binpb')], { cwd: root, stdio: 'inherit' });
  const list = (dir) => fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
  const want = list(path.join(tmp, 'generated'));
  const have = fs.existsSync(path.join(root, 'generated')) ? list(path.join(root, 'generated')) : [];
  const stale = [];
  for (const file of new Set([...want, ...have])) {
    const a = path.join(tmp, 'generated', file);
    const b = path.join(root, 'generated', file);
    if (!fs.existsSync(a) || !fs.existsSync(b) || !fs.readFileSync(a).equals(fs.readFileSync(b))) stale.push(file);
  }
  if (stale.length > 0) {
    console.error(`generated/ is stale (differs from proto/ for: ${stale.join(', ')}). Run \`npm run generate\` and commit the result.`);
    process.exit(1);
  }
  console.log(`generated/ is up to date (${want.length} files).`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
