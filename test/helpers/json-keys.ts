/**
 * Keys that occur more than once in one object of a JSON text. JSON.parse keeps the last of them silently, so a test
 * that must see the wire as a client sees it scans the raw text.
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  const objects: Set<string>[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') objects.push(new Set());
    else if (ch === '}') objects.pop();
    else if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const str = JSON.parse(text.slice(i, end + 1)) as string;
      let next = end + 1;
      while (text[next] === ' ' || text[next] === '\n' || text[next] === '\t' || text[next] === '\r') next++;
      const keys = objects[objects.length - 1];
      if (text[next] === ':' && keys !== undefined) {
        if (keys.has(str)) found.push(str);
        keys.add(str);
      }
      i = end;
    }
  }
  return found;
}
