// index.d.ts is the public contract; it must say exactly what lib/index.ts exports.
// The compiler compares the two member by member: names, kinds and printed types.
import test from 'ava';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const files = { contract: join(root, 'index.d.ts'), built: join(root, 'dist', 'lib', 'index.d.ts') };
const program = ts.createProgram(Object.values(files), { strict: true, types: ['node'], skipLibCheck: true });
const checker = program.getTypeChecker();
const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseFullyQualifiedType;

/** A type as text; `alias` expands the top level of a type alias declaration. */
function print(type: ts.Type, alias = false): string {
  return checker.typeToString(type, undefined, flags | (alias ? ts.TypeFormatFlags.InTypeAlias : 0))
    .replace(/import\("[^"]*"\)\./g, '');
}

function members(type: ts.Type, decl: ts.Node): string[] {
  return checker.getPropertiesOfType(type)
    .filter((p) => !p.name.startsWith('__#') && !p.name.startsWith('#'))
    .map((p) => `${p.name}${p.flags & ts.SymbolFlags.Optional ? '?' : ''}: ${print(checker.getTypeOfSymbolAtLocation(p, decl))}`)
    .sort();
}

/** One line per fact about an export: what a user of the package can rely on. */
function describe(sym: ts.Symbol): string[] {
  const s = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  const decl = s.declarations![0];
  const out: string[] = [];
  if (s.flags & ts.SymbolFlags.Class) {
    out.push('class', ...members(checker.getDeclaredTypeOfSymbol(s), decl));
    const base = checker.getDeclaredTypeOfSymbol(s).getBaseTypes?.() ?? [];
    out.push(...base.map((b) => `extends ${print(b)}`));
  } else if (s.flags & ts.SymbolFlags.Interface) {
    const t = checker.getDeclaredTypeOfSymbol(s);
    out.push('interface', ...members(t, decl), ...(t.getBaseTypes?.() ?? []).map((b) => `extends ${print(b)}`));
  } else if (s.flags & ts.SymbolFlags.TypeAlias) {
    const t = checker.getDeclaredTypeOfSymbol(s);
    out.push('type', print(t, true));
    if (t.getFlags() & ts.TypeFlags.Object) out.push(...members(t, decl));
    if (t.isUnion()) for (const u of t.types) if (u.getFlags() & ts.TypeFlags.Object) out.push(...members(u, decl));
  } else {
    const t = checker.getTypeOfSymbolAtLocation(s, decl);
    out.push('value', print(t));
    if (!t.getCallSignatures().length) out.push(...members(t, decl));
  }
  return out;
}

function surface(file: string): Map<string, string[]> {
  const sf = program.getSourceFile(file);
  if (!sf) throw new Error(`${file} is missing: build first (tsc)`);
  const mod = checker.getSymbolAtLocation(sf)!;
  return new Map(checker.getExportsOfModule(mod).map((e) => [e.name, describe(e)]));
}

test('index.d.ts and lib/index.ts export the same names', (t) => {
  const built = surface(files.built);
  const contract = surface(files.contract);
  // Helper types the contract spells out for readers may be exported in addition.
  const extra = ['ContainerErrorDetails', 'CapabilitySetName', 'DeviceType', 'DeviceNumber', 'OciDeviceCgroupRule'];
  t.deepEqual([...built.keys()].sort(), [...contract.keys()].filter((k) => !extra.includes(k)).sort());
});

test('every export has the same shape in index.d.ts as in lib', (t) => {
  const built = surface(files.built);
  const contract = surface(files.contract);
  for (const [name, facts] of built) t.deepEqual(contract.get(name), facts, name);
});

test('the runtime exports are the value exports of the contract', async (t) => {
  const api = await import(join(root, 'dist', 'lib', 'index.js'));
  const values = [...surface(files.contract)].filter(([, f]) => f[0] === 'value' || f[0] === 'class').map(([n]) => n);
  t.deepEqual(Object.keys(api).filter((k) => k !== 'default').sort(), values.sort());
});
