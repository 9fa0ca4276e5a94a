/**
 * SigV4 signing of one HTTP request with @smithy/signature-v4, the way the sagemaker-mlflow plugin
 * signs with botocore: `x-amz-content-sha256` carries the hex SHA-256 of the body and every header
 * sent is signed (Host included; Connection left out).
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialsProvider } from "./types";

export interface SignRequestInput {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface RequestSigner {
  /** Returns the headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256, x-amz-security-token and authorization. */
  sign(request: SignRequestInput, signingDate?: Date): Promise<Record<string, string>>;
}

export function createRequestSigner(options: {
  service: string;
  region: string;
  credentials: AwsCredentialsProvider;
}): RequestSigner {
  // S3 signs the path as sent; other services escape it once more (botocore and smithy agree on both).
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    uriEscapePath: options.service !== "s3",
    applyChecksum: true,
  });
  return {
    async sign(request, signingDate) {
      const url = new URL(request.url);
      const body = request.body ?? "";
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
      delete headers.connection;
      headers.host = url.host;
      headers["x-amz-content-sha256"] = await sha256Hex(body);
      const query: Record<string, string | string[]> = {};
      for (const [key, value] of url.searchParams) {
        const existing = query[key];
        if (existing === undefined) query[key] = value;
        else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
      }
      const signed = await signer.sign(
        {
          method: request.method.toUpperCase(),
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port === "" ? undefined : Number(url.port),
          path: url.pathname,
          query,
          headers,
          body,
        },
        signingDate === undefined ? undefined : { signingDate },
      );
      return { ...(signed.headers as Record<string, string>) };
    },
  };
}

export async function sha256Hex(body: string | Uint8Array): Promise<string> {
  const hash = new Sha256();
  hash.update(body);
  return Buffer.from(await hash.digest()).toString("hex");
}
