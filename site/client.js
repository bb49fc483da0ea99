// The page side of the worker protocol: requests with ids, promises resolved by id, progress and
// status forwarded to listeners, and a worker that dies is replaced.
//
// A worker counts as dead when it reports a fatal error (its runtime could not start, or Python
// suffered a fatal error), when an uncaught error reaches the page after it was ready (e.g. an
// out-of-memory abort), or when it does not answer a ping within `pingTimeoutMs` while requests
// wait. Its pending requests are then rejected with a clear error, a new worker starts, and the
// "restart" listeners hear why. After `maxRestarts` restarts within a minute it gives up ("fatal").

export class WorkerClient {
  constructor(url, { pingEveryMs = 5000, pingTimeoutMs = 20000, maxRestarts = 3 } = {}) {
    this.url = url;
    this.options = { pingEveryMs, pingTimeoutMs, maxRestarts };
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = { progress: [], status: [], fatal: [], restart: [], ready: [] };
    this.restarts = [];
    this.generation = 0;
    this._start();
    this._watchdog = setInterval(() => this._ping(), pingEveryMs);
  }

  on(kind, callback) {
    this.listeners[kind].push(callback);
  }

  _emit(kind, value) {
    for (const callback of this.listeners[kind]) callback(value);
  }

  _start() {
    const generation = ++this.generation;
    this.isReady = false;
    this.ready = new Promise((resolve, reject) => {
      this._resolveReady = resolve;
      this._rejectReady = reject;
    });
    this.ready.catch(() => {});  // listeners and callers see the rejection; no unhandled-rejection noise
    this.worker = new Worker(this.url, { type: "module" });
    this.lastAnswer = performance.now();
    this.worker.onmessage = (event) => generation === this.generation && this._receive(event.data);
    this.worker.onerror = (event) => {
      if (generation !== this.generation) return;
      event.preventDefault?.();
      const what = event.message || "script error";
      this._died(this.isReady ? `the worker stopped with an error: ${what}` : `the worker failed to start: ${what}`,
        !this.isReady);
    };
  }

  _receive(message) {
    this.lastAnswer = performance.now();
    if (!message || typeof message !== "object") return;
    if (message.type === "progress" || message.type === "status") return this._emit(message.type, message);
    if (message.type === "ready") {
      this.isReady = true;
      this._emit("ready", message.info);
      return this._resolveReady(message.info);
    }
    if (message.type === "fatal") return this._died(message.error?.message || "fatal error", !this.isReady);
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(Object.assign(new Error(message.error.message), message.error));
  }

  // Pings only while requests wait (a busy worker answers them between requests).
  _ping() {
    if (!this.pending.size || !this.isReady) return;
    if (performance.now() - this.lastAnswer > this.options.pingTimeoutMs) {
      this._died(`the worker stopped answering (no reply in ${this.options.pingTimeoutMs / 1000} s)`, false);
      return;
    }
    this.worker.postMessage({ id: 0, type: "ping" });
  }

  // Reject what waits, then start a new worker (or give up when it keeps dying).
  _died(reason, duringStart) {
    const worker = this.worker;
    this.generation += 1;  // messages from the dead worker are ignored from now on
    worker.terminate();
    const error = { message: `kcsolver's worker stopped: ${reason}. It was restarted; please try again.`,
      traceback: "", type: "WorkerDied" };
    for (const [, waiter] of this.pending) waiter.reject(Object.assign(new Error(error.message), error));
    this.pending.clear();
    const now = performance.now();
    this.restarts = this.restarts.filter((at) => now - at < 60000);
    if (duringStart || this.restarts.length >= this.options.maxRestarts) {
      const fatal = { message: duringStart ? `The Python runtime could not start: ${reason}`
        : `kcsolver's worker keeps stopping (${reason}); reload the page.`, traceback: "" };
      clearInterval(this._watchdog);
      this._emit("fatal", fatal);
      this._rejectReady(Object.assign(new Error(fatal.message), fatal));
      return;
    }
    this.restarts.push(now);
    const previousReady = this._resolveReady;
    this._start();
    this.ready.then(previousReady, () => {});  // whoever awaited the old worker's start gets the new one
    this._emit("restart", { reason, count: this.restarts.length });
  }

  async request(type, payload, transfer = []) {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.pending.size) this.lastAnswer = performance.now();  // the silence counts from here
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, payload }, transfer);
    });
  }

  // Diagnostics and tests: the worker itself (e.g. to terminate it as a crash would).
  get currentWorker() {
    return this.worker;
  }
}
