// At most `limit` tasks at a time, the rest in arrival order.
//
// Container setup is kernel work that the kernel does not preempt (clone with new
// namespaces, mounts, pivot_root): more setups in flight than CPUs can run only makes
// them queue inside the kernel, where they keep the CPUs from the event loop that
// asked for them. Queued here, they wait without holding a CPU, and throughput stays
// the same (measured in bench/README.md).
export class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();  // the slot passes on; #active stays
      else this.#active--;
    }
  }
}
