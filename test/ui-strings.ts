// Finds user-visible English left in the app's JSX: text between tags, string literals and template
// text as children, and the attributes a user reads (title, placeholder, aria-label, alt). Words in
// ALLOWED are names, not language (protocols, tools, units, the product's name), and stay as they are.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** Names and units, the same in every language. */
export const ALLOWED = new Set(
  (
    'packet journey pcapng pcap SVG PNG ICMP TCP UDP ARP IPv4 IPv6 DSR DNAT SNAT NAT FDB MAC TTL XDP tc tcx BPF eBPF ' +
    'veth netns iptables tcpdump Wireshark tshark ms MB KB kB GB pkt pps id ip proto src dst sport dport ' +
    'ingress egress FR EN QR JSON CLI SYN ACK'
  ).split(' '),
);
const READ_ATTRS = new Set(['title', 'placeholder', 'aria-label', 'alt', 'label']);

export interface Literal {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** Text that still says something in English once the allowed names are taken out. */
export function isWords(text: string): boolean {
  const words = text.match(/[A-Za-z][A-Za-z'-]*/g) ?? [];
  return words.some((w) => w.length > 1 && !ALLOWED.has(w) && !ALLOWED.has(w.toLowerCase()));
}

/** A string that is one branch of a `?:`, `&&`, `||` or `??` shown as JSX text or a read attribute. */
export function inBranch(n: ts.Node, sf: ts.SourceFile): boolean {
  let c: ts.Node = n;
  let branched = false;
  for (let p = n.parent; p; c = p, p = p.parent) {
    if (ts.isParenthesizedExpression(p)) continue;
    if (ts.isConditionalExpression(p) && c !== p.condition) branched = true;
    else if (ts.isBinaryExpression(p) && /^(&&|\|\||\?\?)$/.test(p.operatorToken.getText(sf)) && c === p.right)
      branched = true;
    else if (ts.isJsxExpression(p)) {
      const host = p.parent;
      const shown = ts.isJsxElement(host) || ts.isJsxFragment(host);
      return branched && (shown || (ts.isJsxAttribute(host) && READ_ATTRS.has(host.name.getText(sf))));
    } else return false;
  }
  return false;
}

export function literalsIn(file: string, src: string): Literal[] {
  const sf = ts.createSourceFile(file, src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const out: Literal[] = [];
  const add = (n: ts.Node, text: string) => {
    if (isWords(text))
      out.push({ file, line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: text.trim() });
  };
  const visit = (n: ts.Node): void => {
    if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && inBranch(n, sf)) add(n, n.text);
    if (ts.isJsxText(n)) add(n, n.text);
    else if (ts.isJsxExpression(n) && n.expression && ts.isJsxElement(n.parent)) {
      const e = n.expression;
      if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) add(e, e.text);
      else if (ts.isTemplateExpression(e))
        add(e, [e.head.text, ...e.templateSpans.map((s) => s.literal.text)].join(' '));
    } else if (ts.isJsxAttribute(n) && READ_ATTRS.has(n.name.getText(sf)) && n.initializer) {
      const i = n.initializer;
      if (ts.isStringLiteral(i)) add(i, i.text);
      else if (
        ts.isJsxExpression(i) &&
        i.expression &&
        (ts.isStringLiteral(i.expression) || ts.isNoSubstitutionTemplateLiteral(i.expression))
      )
        add(i.expression, i.expression.text);
      else if (ts.isJsxExpression(i) && i.expression && ts.isTemplateExpression(i.expression)) {
        const e = i.expression;
        add(e, [e.head.text, ...e.templateSpans.map((s) => s.literal.text)].join(' '));
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function tsxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsxFiles(p);
    return p.endsWith('.tsx') ? [p] : [];
  });
}

/** Every hard-coded user-visible string in app/**\/*.tsx, by file and line. */
export function uiLiterals(root: string): Literal[] {
  return tsxFiles(join(root, 'app')).flatMap((f) => literalsIn(relative(root, f), readFileSync(f, 'utf8')));
}

/** Every `t('key')` / `tx('ns.key')` with a literal key in app/**, as the full catalog key it names. */
export function usedKeys(root: string): { file: string; key: string }[] {
  const files = (function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return walk(p);
      return /\.tsx?$/.test(p) && !p.endsWith('.test.ts') ? [p] : [];
    });
  })(join(root, 'app'));
  const out: { file: string; key: string }[] = [];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    const sf = ts.createSourceFile(f, src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
    const file = relative(root, f);
    const visit = (n: ts.Node, ns: Map<string, string>): void => {
      if (
        ts.isVariableDeclaration(n) &&
        ts.isIdentifier(n.name) &&
        n.initializer &&
        ts.isCallExpression(n.initializer)
      ) {
        const c = n.initializer;
        const a = c.arguments[0];
        if (c.expression.getText(sf) === 'useT' && a && ts.isStringLiteral(a)) ns.set(n.name.text, a.text);
      }
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
        const a = n.arguments[0];
        const name = n.expression.text;
        if (a && ts.isStringLiteral(a)) {
          if (name === 'tx') out.push({ file, key: `ui.${a.text}` });
          else if (ns.has(name)) out.push({ file, key: `ui.${ns.get(name)}.${a.text}` });
          else if (name === 'msg' && /^(err|explain|ui|zod|scenario)\./.test(a.text)) out.push({ file, key: a.text });
        }
      }
      ts.forEachChild(n, (c) => visit(c, ns));
    };
    visit(sf, new Map());
  }
  return out;
}
