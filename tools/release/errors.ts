/** A bad release request (unknown stack, service or action, a value out of range, a step that does not apply). The CLI prints the message alone and exits 2. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseError";
  }
}
