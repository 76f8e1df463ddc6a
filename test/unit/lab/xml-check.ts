// A well-formedness check for the lab's hand-written SVG pictures (the tests' own, no XML parser).

/** Elements open and close in order, attributes are quoted, no stray `<` or `&` in text. */
export function checkXml(svg: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  const body = svg.replace(/^<\?xml[^?]*\?>\s*/, '');
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    if (/[<>]/.test(text)) problems.push(`stray < or > before ${m[0]}: ${JSON.stringify(text.slice(0, 40))}`);
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) problems.push(`bare & in ${JSON.stringify(text.slice(0, 40))}`);
    last = m.index + m[0].length;
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (!selfClose) stack.push(name);
  }
  if (body.slice(last).trim() !== '') problems.push(`text after the root: ${JSON.stringify(body.slice(last, last + 40))}`);
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}
