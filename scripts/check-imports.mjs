#!/usr/bin/env node
/**
 * The folder import graph of a source tree must have no cycle (issue 20, item 3):
 * `node scripts/check-imports.mjs [root]` (default `src`).
 *
 * Each .ts file under the root belongs to a node: the first folder under the root, or "." for the
 * files directly in it. Every relative import (`import`, `import type`, `export … from`, dynamic
 * `import("…")`, as TypeScript's own pre-processor finds them) is an edge from the importer's node
 * to the imported file's; imports within a node, of packages and of files outside the root (gen/)
 * do not count. Exits 1 printing each cycle with one example import per edge, else 0 printing the
 * edges.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const root = resolve(process.argv[2] ?? "src");
const shown = (file) => relative(process.cwd(), file) || ".";

/** The node of a path under the root; undefined outside it. */
function nodeOf(path) {
  const rel = relative(root, path);
  if (rel.startsWith("..")) return undefined;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : ".";
}

/** edges.get(from).get(to): the number of imports and the first one seen. */
const edges = new Map();
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const from = nodeOf(file);
  for (const { fileName: spec } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
    if (!spec.startsWith(".")) continue;
    const to = nodeOf(resolve(dirname(file), spec));
    if (to === undefined || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const edge = edges.get(from).get(to) ?? { count: 0, example: `${shown(file)} imports ${spec}` };
    edge.count++;
    edges.get(from).set(to, edge);
  }
}

const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])])].sort();
const next = (node) => [...(edges.get(node)?.keys() ?? [])].sort();

/** Every elementary cycle once: each is found from its first node in sorted order, through later nodes only. */
const cycles = [];
for (const [i, start] of nodes.entries()) {
  const allowed = new Set(nodes.slice(i));
  const walk = (path) => {
    for (const to of next(path.at(-1))) {
      if (to === start) cycles.push([...path, start]);
      else if (allowed.has(to) && !path.includes(to)) walk([...path, to]);
    }
  };
  walk([start]);
}

if (cycles.length) {
  console.log(`${cycles.length} cycle(s) between the folders of ${shown(root)}:`);
  for (const cycle of cycles) {
    console.log(`\n${cycle.join(" → ")}`);
    for (let k = 1; k < cycle.length; k++) console.log(`  ${edges.get(cycle[k - 1]).get(cycle[k]).example}`);
  }
  process.exit(1);
}
console.log(`no cycle between the folders of ${shown(root)}; its edges (imports):`);
for (const from of nodes) for (const to of next(from)) console.log(`  ${from} → ${to} (${edges.get(from).get(to).count})`);
