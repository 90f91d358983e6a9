/**
 * What can go wrong talking to a registry, apart from the registry's own OCI errors (which arrive as
 * OciError). Each carries one line a person can act on.
 */
export class ClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Nothing answered, the connection broke, or the request timed out. */
export class ConnectionError extends ClientError {}

/** The TLS handshake failed: wrong protocol, unknown authority, bad certificate. */
export class TlsError extends ClientError {}

/** The registry refused our credentials (or we had none where it needs them). */
export class AuthError extends ClientError {}

/** The registry answered something that is not the protocol (bad JSON, missing headers). */
export class ProtocolError extends ClientError {}
