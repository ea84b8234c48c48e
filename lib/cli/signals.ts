// Signals that reach the command line before it has a container to pass them to.
//
// Node opens its inspector on 127.0.0.1:9229 when a SIGUSR1 finds no listener, and
// anyone on the host could then attach to this root process and run code in it. So
// SIGUSR1 has a listener from this module's first evaluation (main.ts imports it
// first) to the process's end: signals that arrive before `run` has started its
// container are held, and `run` passes them on once it runs, as runc does.
const HELD: NodeJS.Signals[] = ['SIGUSR1'];
const held: NodeJS.Signals[] = [];
let forwarding = false;

for (const sig of HELD) process.on(sig, (s: NodeJS.Signals) => {
  if (!forwarding) held.push(s);
});

/** From now on signals go to `forward`; those held so far are passed to it first. */
export function forwardSignals(signals: readonly NodeJS.Signals[], forward: (sig: NodeJS.Signals) => void): () => void {
  forwarding = true;
  for (const sig of signals) process.on(sig, forward);
  for (const sig of held.splice(0)) forward(sig);
  return () => {
    for (const sig of signals) process.off(sig, forward);
    forwarding = false;
  };
}
