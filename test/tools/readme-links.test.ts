/**
 * The README's links work in any clone: every relative link names a file inside the repository that
 * exists (the behaviour contract lives in docs/contract.md, not in a sibling directory), and every
 * anchor into a Markdown file names one of its headings.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z]+:/i.test(target));

test('the README has relative links to check', () => {
  expect(links).toEqual(expect.arrayContaining(['docs/contract.md', 'examples/tasks.ts', 'examples/client.ts']));
});

test.each(links)('%s stays inside the repository and exists', (target) => {
  const [file, anchor] = target.split('#') as [string, string | undefined];
  const resolved = path.resolve(ROOT, file === '' ? 'README.md' : file);
  expect(path.relative(ROOT, resolved).startsWith('..')).toBe(false);
  expect(existsSync(resolved)).toBe(true);
  if (anchor !== undefined && resolved.endsWith('.md')) expect([...anchors(resolved)]).toContain(anchor);
});
