/**
 * How components connect to object stores: the `s3` and `azure` option blocks every store-backed
 * component shares, the upload fields of the sinks that write files, the settings `storeFor` takes,
 * and the validation of a location option (`objectUriProblems`). Secrets come through `${ENV}`
 * references in the topology or the SDKs' own environment variables, never literal text.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { OptionProblem } from '../core/component.js';
import { parseObjectUri } from './object-uri.js';

/** A relative folder under a lake URI: `/`-separated names of letters, digits, `._=-`, none of them `.` or `..`. */
export const LAKE_FOLDER_PATTERN = '^(?!\\.\\.?(/|$))(?!.*/\\.\\.?(/|$))[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$';

/** `s3: { … }`: AWS S3 or an S3-compatible server; credentials come from the standard AWS chain. */
export const S3ConnectionOptions = Type.Object(
  {
    endpoint: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Base URL of an S3-compatible server (e.g. `http://127.0.0.1:9000`); default: AWS S3 for the region.',
      }),
    ),
    region: Type.Optional(
      Type.String({ minLength: 1, description: 'AWS region; default: `AWS_REGION` or the AWS config file, else `us-east-1` with a custom endpoint.' }),
    ),
    forcePathStyle: Type.Optional(
      Type.Boolean({ description: 'Address buckets in the path (`endpoint/bucket/key`) rather than the host name; most S3-compatible servers need it (default false).' }),
    ),
  },
  { additionalProperties: false, description: 'S3 connection for `s3://` URIs. Credentials: the standard AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, instance roles).' },
);
export type S3ConnectionOptions = Static<typeof S3ConnectionOptions>;

/** `azure: { … }`: Azure Blob Storage (or Azurite) by connection string or account URL. */
export const AzureConnectionOptions = Type.Object(
  {
    connectionString: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Storage account connection string, usually `${AZURE_STORAGE_CONNECTION_STRING}`; default: the `AZURE_STORAGE_CONNECTION_STRING` environment variable.',
      }),
    ),
    accountUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Blob service URL (`https://<account>.blob.core.windows.net`), with a SAS token in its query or with `accountKey`; used when there is no connection string.',
      }),
    ),
    accountKey: Type.Optional(Type.String({ minLength: 1, description: 'Shared key of the account named by `accountUrl`, usually `${AZURE_STORAGE_KEY}`.' })),
  },
  { additionalProperties: false, description: 'Azure Blob connection for `azure://container/blob` URIs.' },
);
export type AzureConnectionOptions = Static<typeof AzureConnectionOptions>;

/** The option fields a component spreads into its schema to reach every store. */
export const StoreConnectionFields = {
  s3: Type.Optional(S3ConnectionOptions),
  azure: Type.Optional(AzureConnectionOptions),
};

/** The fields of every sink that uploads files to a store: upload retries, the request deadline and the connections. */
export const StoreUploadFields = {
  retries: Type.Integer({
    minimum: 0,
    maximum: 30,
    default: 8,
    description: 'Retries of an upload the store could not take (unreachable, 5xx, throttled), with backoff from 250 ms up to 5 s; then the write fails and the runtime retries it, then dead-letters its inputs.',
  }),
  timeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'Deadline of one request to S3 or Azure, in milliseconds.' }),
  ...StoreConnectionFields,
};

/** Everything `storeFor` needs besides the URI. */
export interface StoreSettings {
  readonly s3?: S3ConnectionOptions;
  readonly azure?: AzureConnectionOptions;
  /** Deadline of one request attempt, in milliseconds (default 30000). */
  readonly timeoutMs?: number;
  /** Attempts the SDK makes for one request before the error reaches the caller (default 3). */
  readonly sdkAttempts?: number;
  /** Environment for defaults such as `AZURE_STORAGE_CONNECTION_STRING` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The problem, if any, of the store location an option names, for a spec's `validate` (pure: the
 * URI is parsed, nothing is reached): a malformed URI, a scheme no store serves, a bad bucket or
 * container name. `uri` is the location as the component will use it (a path already turned into
 * a `file://` URI); `path` is the option's path in the node.
 */
export function objectUriProblems(path: readonly (string | number)[], uri: string): OptionProblem[] {
  try {
    parseObjectUri(uri);
    return [];
  } catch (error) {
    return [{ path, message: (error as Error).message, suggestion: 'write `s3://bucket/prefix`, `azure://container/prefix`, `file:///path` or a path relative to the topology file' }];
  }
}
