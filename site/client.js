// The page side of the worker protocol: one Worker, requests with ids,
// promises resolved by id, progress and status forwarded to listeners.

export class WorkerClient {
  constructor(url) {
    this.worker = new Worker(url, { type: "module" });
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = { progress: [], status: [], fatal: [] };
    this.ready = new Promise((resolve, reject) => {
      this._resolveReady = resolve;
      this._rejectReady = reject;
    });
    this.worker.onmessage = (event) => this._receive(event.data);
    this.worker.onerror = (event) => {
      const error = { message: `worker failed to start: ${event.message || "script error"}`, traceback: "" };
      this._emit("fatal", error);
      this._rejectReady(Object.assign(new Error(error.message), error));
    };
  }

  on(kind, callback) {
    this.listeners[kind].push(callback);
  }

  _emit(kind, value) {
    for (const callback of this.listeners[kind]) callback(value);
  }

  _receive(message) {
    if (message.type === "progress" || message.type === "status") return this._emit(message.type, message);
    if (message.type === "ready") return this._resolveReady(message.info);
    if (message.type === "fatal") {
      this._emit("fatal", message.error);
      return this._rejectReady(Object.assign(new Error(message.error.message), message.error));
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(Object.assign(new Error(message.error.message), message.error));
  }

  request(type, payload, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, payload }, transfer);
    });
  }
}
