// Typed errors, as the Python runtime's quals.errors: the library throws, only the CLI turns them into messages.

export class QualsError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** A bundle is missing, incomplete, tampered with, of an unsupported version or uses an unsupported component. */
export class BundleError extends QualsError {}

/** Search or scoring options that contradict each other or the bundle. */
export class OptionsError extends QualsError {}

/** A record or an argument that cannot be scored as given. */
export class InputError extends QualsError {}
