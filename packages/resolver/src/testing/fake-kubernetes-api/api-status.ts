// Fake Kubernetes API: `meta/v1 Status` objects, the body of every API error the real server returns.
// Consumes an error situation; produces the Status JSON and its HTTP code.

import { qualifiedResource, type ResourceKind } from './resource-kinds.js';

/** One entry of `Status.details.causes`. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

/** A `meta/v1 Status` object. */
export interface ApiStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure' | 'Success';
  readonly message: string;
  readonly reason: string;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: readonly StatusCause[];
    readonly retryAfterSeconds?: number;
  };
  readonly code: number;
}

/** An API error carried through the request pipeline until it is written as a Status response. */
export class ApiStatusError extends Error {
  readonly status: ApiStatus;
  constructor(status: ApiStatus) {
    super(status.message);
    this.name = 'ApiStatusError';
    this.status = status;
  }
}

/** Reason phrase the real API server uses for an HTTP code it answers with a Status. */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 406:
      return 'NotAcceptable';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return code >= 500 ? 'InternalError' : 'Unknown';
  }
}

/** Build a failure Status. */
export function failure(code: number, message: string, reason = reasonForCode(code), details?: ApiStatus['details']) {
  const status: ApiStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
  return status;
}

function resourceDetails(kind: ResourceKind, name: string) {
  return { name, ...(kind.group === '' ? {} : { group: kind.group }), kind: kind.plural };
}

/** 404 `services "web" not found`. */
export function notFound(kind: ResourceKind, name: string): ApiStatusError {
  return new ApiStatusError(
    failure(404, `${qualifiedResource(kind)} "${name}" not found`, 'NotFound', resourceDetails(kind, name)),
  );
}

/** 409 AlreadyExists `services "web" already exists`. */
export function alreadyExists(kind: ResourceKind, name: string): ApiStatusError {
  return new ApiStatusError(
    failure(409, `${qualifiedResource(kind)} "${name}" already exists`, 'AlreadyExists', resourceDetails(kind, name)),
  );
}

/** 409 Conflict on a resourceVersion (or uid) precondition mismatch. */
export function conflict(kind: ResourceKind, name: string, why?: string): ApiStatusError {
  return new ApiStatusError(
    failure(
      409,
      `Operation cannot be fulfilled on ${qualifiedResource(kind)} "${name}": ${
        why ?? 'the object has been modified; please apply your changes to the latest version and try again'
      }`,
      'Conflict',
      resourceDetails(kind, name),
    ),
  );
}

/** 422 Invalid with one cause per problem, worded like apimachinery's field errors. */
export function invalid(kind: ResourceKind, name: string, causes: readonly StatusCause[]): ApiStatusError {
  const list = causes.map((c) => (c.field === undefined ? c.message : `${c.field}: ${c.message}`));
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new ApiStatusError(
    failure(422, `${kind.kind} "${name}" is invalid: ${summary}`, 'Invalid', {
      name,
      ...(kind.group === '' ? {} : { group: kind.group }),
      kind: kind.kind,
      causes,
    }),
  );
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiStatusError {
  return new ApiStatusError(failure(400, message, 'BadRequest'));
}

/** 410 Expired: the resourceVersion asked for is older than the kept history. */
export function expired(message: string): ApiStatusError {
  return new ApiStatusError(failure(410, message, 'Expired'));
}

/** The Status an `ERROR` watch event carries when the watcher's resourceVersion is too old. */
export function tooOldResourceVersion(requested: string, oldest: number): ApiStatus {
  return failure(410, `too old resource version: ${requested} (${oldest})`, 'Expired');
}
