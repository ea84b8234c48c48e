// The package's types are tsc's declarations of lib (package.json "types"): a consumer
// written against the documented API compiles against them, strictly.
import test from 'ava';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');

test('package.json types name the built declarations, and a strict consumer compiles against them', (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { types: string; files: string[] };
  t.is(pkg.types, 'dist/lib/index.d.ts');
  t.true(pkg.files.includes('dist/lib'));
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-types-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const consumer = join(dir, 'use.ts');
  writeFileSync(consumer, `
import { createContainer, attachContainer, explain, profiles, type ContainerHandle, type ExecSpec, type DeviceType,
  type ContainerErrorDetails, type CapabilitySetName, type OciDeviceCgroupRule, type DeviceNumber } from ${JSON.stringify(join(root, pkg.types.replace(/\.d\.ts$/, '')))};
export async function use(): Promise<number> {
  const c = await createContainer({ command: ['true'], profile: 'default', devices: ['c 10:232 rwm'] });
  const h: ContainerHandle = c.handle;
  const e: ExecSpec = { command: ['ls'], stdio: 'pipe' };
  const kinds: [DeviceType, DeviceNumber, CapabilitySetName] = ['c', '*', 'ambient'];
  const d: ContainerErrorDetails = { step: 'x' };
  const r: OciDeviceCgroupRule = { allow: true, access: 'rwm' };
  void [e, kinds, d, r, explain(profiles.default, { device: '/dev/kvm', access: 'rw' }).allowed, attachContainer(h).pid];
  await c.start();
  return (await c.wait()).exitCode ?? -1;
}
`);
  const program = ts.createProgram([consumer], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
  });
  const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  t.deepEqual(errors, []);
  // And a misuse is caught: an unknown spec field does not type-check.
  writeFileSync(consumer, `import { createContainer } from ${JSON.stringify(join(root, 'dist/lib/index'))};\nvoid createContainer({ command: ['true'], nope: 1 });\n`);
  const bad = ts.createProgram([consumer], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] });
  t.true(ts.getPreEmitDiagnostics(bad).length > 0);
});
