/**
 * Verifies an AWS SigV4 Authorization header the way AWS does: parse the credential scope, recompute the
 * signature over the signed headers, the path as received, the query and the body, compare.
 */
import { createHash } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { BedrockCredentials } from "./types.js";

export interface SignatureProblem {
  /** AWS error code, e.g. "InvalidSignatureException". */
  type: string;
  message: string;
}

export interface SignedRequest {
  method: string;
  /** The request path exactly as received (percent-encoding intact, scenario prefix included). */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const AUTHORIZATION_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const signers = new Map<string, SignatureV4>();

function signerFor(credentials: BedrockCredentials, region: string, service: string): SignatureV4 {
  const key = `${credentials.accessKeyId}\u0000${credentials.secretAccessKey}\u0000${region}\u0000${service}`;
  let signer = signers.get(key);
  if (signer === undefined) {
    signer = new SignatureV4({
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      region,
      service,
      sha256: Sha256,
      // The client decides whether x-amz-content-sha256 is signed; the verifier signs what it listed.
      applyChecksum: false,
      uriEscapePath: true,
    });
    if (signers.size > 64) signers.clear();
    signers.set(key, signer);
  }
  return signer;
}

/** Returns undefined when the signature is valid, else what AWS would answer (always a 403). */
export async function verifySigV4(
  request: SignedRequest,
  credentials: BedrockCredentials,
): Promise<SignatureProblem | undefined> {
  const authorization = request.headers.authorization;
  if (typeof authorization !== "string" || authorization.length === 0) {
    return { type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" };
  }
  const match = AUTHORIZATION_PATTERN.exec(authorization);
  if (match === null) {
    return {
      type: "IncompleteSignatureException",
      message:
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256).",
    };
  }
  const [, accessKeyId, shortDate, region, service, signedHeaderList, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (accessKeyId !== credentials.accessKeyId) {
    return {
      type: "UnrecognizedClientException",
      message: "The security token included in the request is invalid.",
    };
  }
  const amzDate = request.headers["x-amz-date"];
  const dateMatch = typeof amzDate === "string" ? AMZ_DATE_PATTERN.exec(amzDate) : null;
  if (dateMatch === null) {
    return {
      type: "IncompleteSignatureException",
      message: "Authorization header requires existence of X-Amz-Date.",
    };
  }
  if (amzDate!.slice(0, 8) !== shortDate) {
    return {
      type: "InvalidSignatureException",
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shortDate}' != '${amzDate!.slice(0, 8)}'`,
    };
  }
  const signingDate = new Date(
    Date.UTC(
      Number(dateMatch[1]),
      Number(dateMatch[2]) - 1,
      Number(dateMatch[3]),
      Number(dateMatch[4]),
      Number(dateMatch[5]),
      Number(dateMatch[6]),
    ),
  );
  const signedHeaders = signedHeaderList.split(";");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return signatureMismatch();
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const contentHash = headers["x-amz-content-sha256"];
  if (
    contentHash !== undefined &&
    contentHash !== "UNSIGNED-PAYLOAD" &&
    contentHash !== createHash("sha256").update(request.body).digest("hex")
  ) {
    return {
      type: "InvalidSignatureException",
      message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
    };
  }
  const signed = await signerFor(credentials, region, service).sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: "",
      path: request.path,
      query: request.query,
      headers,
      body: request.body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders), signingRegion: region, signingService: service },
  );
  const recomputed = String(signed.headers.authorization ?? "");
  if (!recomputed.endsWith(`Signature=${signature}`)) return signatureMismatch();
  return undefined;
}

function signatureMismatch(): SignatureProblem {
  return {
    type: "InvalidSignatureException",
    message:
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  };
}
