// Writes an assembler file that links the built nsbox-init binary into the addon
// (.incbin), so the addon carries its own init helper and needs no file beside it.
'use strict';
const { writeFileSync } = require('node:fs');
const { resolve } = require('node:path');

const [binary, out] = process.argv.slice(2);
writeFileSync(out, [
  '  .section .rodata',
  '  .balign 16',
  '  .global nsbox_init_blob',
  '  .hidden nsbox_init_blob',
  'nsbox_init_blob:',
  `  .incbin ${JSON.stringify(resolve(binary))}`,
  '  .global nsbox_init_blob_end',
  '  .hidden nsbox_init_blob_end',
  'nsbox_init_blob_end:',
  '  .section .note.GNU-stack,"",@progbits',
  '',
].join('\n'));
