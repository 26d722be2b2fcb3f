/**
 * The rules between `kserve` backend options that the schema cannot say — the endpoint's form for
 * the protocol, TLS settings against the endpoint, a client certificate with its key — as pure
 * checks: `infer`'s `validate` reports them with every other problem of the topology, and the
 * backend refuses the same options in the same words when it is created outside a topology.
 */
import type { KserveBackendOptions } from './backend.js';

/** One problem, at a path inside `backend`. */
export interface KserveOptionProblem {
  readonly path: readonly string[];
  readonly message: string;
  readonly suggestion: string;
}

/** The problems of the options, in the order the backend meets them (none: it can try to connect). */
export function kserveOptionProblems(options: KserveBackendOptions): KserveOptionProblem[] {
  const problems: KserveOptionProblem[] = [];
  const endpoint = options.endpoint.trim();
  if ((options.protocol ?? 'grpc') === 'http') {
    if (!/^https?:\/\//i.test(endpoint)) {
      problems.push({ path: ['endpoint'], message: `backend.endpoint \`${endpoint}\` is not an http:// or https:// URL`, suggestion: 'with `protocol: http` write e.g. `http://127.0.0.1:8000`' });
    } else if (options.tls !== undefined && !/^https:\/\//i.test(endpoint)) {
      problems.push({ path: ['tls'], message: `backend.tls is set but \`${endpoint}\` is not an https:// URL`, suggestion: 'write the endpoint as `https://…`, or remove `tls`' });
    }
  } else {
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint);
    if (isUrl || !/:\d+$/.test(endpoint)) {
      problems.push({ path: ['endpoint'], message: `backend.endpoint \`${endpoint}\` is not a gRPC \`host:port\``, suggestion: `write e.g. \`127.0.0.1:8001\`${isUrl ? ', or set `protocol: http` for a URL' : ''}` });
    }
  }
  const tls = options.tls;
  if (tls !== undefined && (tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    problems.push({ path: ['tls', tls.certFile === undefined ? 'keyFile' : 'certFile'], message: 'backend.tls needs both `certFile` and `keyFile` for a client certificate, or neither', suggestion: `add \`${tls.certFile === undefined ? 'certFile' : 'keyFile'}\`, or remove \`${tls.certFile === undefined ? 'keyFile' : 'certFile'}\`` });
  }
  return problems;
}
