// Errors: a manifest given to the local cluster cannot be used (bad YAML, missing fields, rejected by the API).

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * A manifest (file or text) holds a document the local cluster cannot apply: unparsable YAML/JSON,
 * a document that is not an object, no `kind`/`apiVersion`/`metadata.name`, or an object the API
 * server rejects (the API's 422 text follows). `file` and `document` (1-based, in file order) say
 * where; `kind` and `name` what, when known.
 *
 * @example
 * ```ts
 * // manifests/web.yaml: document 2 (Deployment web): spec.selector: Required value
 * try { await LocalCluster.start({ manifests: ['manifests/'] }) }
 * catch (err) { if (err.code === 'CLUSTERIP_ERR_INVALID_MANIFEST') console.error(err.file, err.document) }
 * ```
 */
export class InvalidManifestError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_INVALID_MANIFEST';
  /** The file, or `<input>` for text given to `apply()`. */
  readonly file: string;
  /** 1-based index of the YAML document in the file. */
  readonly document: number;
  readonly kind: string | undefined;
  readonly objectName: string | undefined;

  constructor(
    file: string,
    document: number,
    what: string,
    context: { kind?: string | undefined; name?: string | undefined } = {},
    options?: ClusterIPErrorOptions,
  ) {
    const subject =
      context.kind === undefined ? '' : ` (${context.kind}${context.name === undefined ? '' : ` ${context.name}`})`;
    super(`${file}: document ${document}${subject}: ${what}`, options);
    this.name = 'InvalidManifestError';
    this.file = file;
    this.document = document;
    this.kind = context.kind;
    this.objectName = context.name;
  }
}
