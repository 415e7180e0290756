import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/gateway';

const ROOT = repoRoot();

/** The project's documents: the README, test/README.md, grafana/README.md and every README.md under src/. */
function documents(): string[] {
  const found = [join(ROOT, 'README.md'), join(ROOT, 'test', 'README.md'), join(ROOT, 'grafana', 'README.md')];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === 'README.md') found.push(path);
    }
  };
  walk(join(ROOT, 'src'));
  return found;
}

/** The text outside fenced code blocks: a link there is Markdown, not an example. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^]*?^```$/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, …. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = text.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** Every relative link target of `markdown` (`[text](target)`), as written. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
}

describe('documentation links', () => {
  it('finds the documents moved beside the code', () => {
    const docs = documents().map((d) => relative(ROOT, d));
    expect(docs).to.include.members(['README.md', 'src/wire/README.md', 'src/bench/README.md', 'src/registry/README.md']);
  });

  for (const doc of documents()) {
    it(`${relative(ROOT, doc)}: every relative link names an existing file, and every #anchor a heading in it`, () => {
      const text = readFileSync(doc, 'utf8');
      const broken: string[] = [];
      for (const target of relativeLinks(text)) {
        const [path, anchor] = target.split('#');
        const file = path === '' ? doc : resolve(dirname(doc), path);
        if (!existsSync(file)) broken.push(`${target}: no such file`);
        else if (anchor !== undefined && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${target}: no such heading`);
      }
      expect(broken).to.deep.equal([]);
    });
  }
});
