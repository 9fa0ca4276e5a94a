/**
 * Stand-ins on 127.0.0.1 for where the AWS SDK's credential chain gets credentials, so the chain can be
 * tested without AWS: the ECS container-credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), the
 * EC2 instance-metadata service with IMDSv2 tokens (AWS_EC2_METADATA_SERVICE_ENDPOINT) and STS
 * AssumeRole (an endpoint override), which checks the caller's SigV4 signature. Each serves what
 * `credentials()` returns at the time of the request, so a test can rotate them, and records requests.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { verifySigV4 } from "./sigv4-verifier.js";
import type { BedrockCredentials } from "./types.js";

export interface ServedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AwsStandInRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface AwsStandIn {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly requests: AwsStandInRequest[];
  close(): Promise<void>;
}

type Handler = (request: AwsStandInRequest, response: ServerResponse) => void | Promise<void>;

async function serve(handler: Handler): Promise<AwsStandIn> {
  const requests: AwsStandInRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const recorded = {
        method: request.method ?? "GET",
        path: request.url ?? "/",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      Promise.resolve(handler(recorded, response)).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/**
 * ECS / EKS Pod Identity container credentials: GET on any path answers
 * `{AccessKeyId, SecretAccessKey, Token, Expiration}`; with `authorizationToken`, requests must carry it
 * in Authorization (AWS_CONTAINER_AUTHORIZATION_TOKEN).
 */
export function startContainerCredentialsServer(options: {
  credentials: () => ServedCredentials;
  authorizationToken?: string;
}): Promise<AwsStandIn> {
  return serve((request, response) => {
    if (options.authorizationToken && request.headers.authorization !== options.authorizationToken) {
      sendJson(response, 403, { message: "bad authorization token" });
      return;
    }
    const served = options.credentials();
    sendJson(response, 200, {
      AccessKeyId: served.accessKeyId,
      SecretAccessKey: served.secretAccessKey,
      Token: served.sessionToken,
      Expiration: served.expiration.toISOString(),
      RoleArn: "arn:aws:iam::123456789012:role/llmux-task-role",
    });
  });
}

/**
 * EC2 instance metadata with IMDSv2: PUT /latest/api/token gives a session token; the credential
 * paths refuse requests without it (401), as an instance with IMDSv1 disabled does.
 */
export function startInstanceMetadataServer(options: {
  roleName?: string;
  credentials: () => ServedCredentials;
}): Promise<AwsStandIn> {
  const role = options.roleName ?? "llmux-instance-role";
  const tokens = new Set<string>();
  return serve((request, response) => {
    const path = request.path.split("?")[0]!;
    if (request.method === "PUT" && path === "/latest/api/token") {
      if (!request.headers["x-aws-ec2-metadata-token-ttl-seconds"]) {
        response.writeHead(400).end();
        return;
      }
      const token = randomUUID();
      tokens.add(token);
      response.writeHead(200, { "content-type": "text/plain" }).end(token);
      return;
    }
    const token = request.headers["x-aws-ec2-metadata-token"];
    if (typeof token !== "string" || !tokens.has(token)) {
      response.writeHead(401).end();
      return;
    }
    if (path === "/latest/meta-data/iam/security-credentials/") {
      response.writeHead(200, { "content-type": "text/plain" }).end(role);
      return;
    }
    if (path === `/latest/meta-data/iam/security-credentials/${role}`) {
      const served = options.credentials();
      sendJson(response, 200, {
        Code: "Success",
        LastUpdated: new Date().toISOString(),
        Type: "AWS-HMAC",
        AccessKeyId: served.accessKeyId,
        SecretAccessKey: served.secretAccessKey,
        Token: served.sessionToken,
        Expiration: served.expiration.toISOString(),
      });
      return;
    }
    response.writeHead(404).end();
  });
}

/**
 * STS (query protocol, XML answers). AssumeRole must be SigV4-signed (service sts) with one of
 * `callers`; AssumeRoleWithWebIdentity is unsigned, as on AWS, and must carry one of
 * `webIdentityTokens` (the EKS / IRSA token file's contents). Both answer with
 * `credentials(roleArn, sessionName)`.
 */
export function startStsServer(options: {
  callers: BedrockCredentials[];
  credentials: (roleArn: string, sessionName: string) => ServedCredentials;
  webIdentityTokens?: string[];
}): Promise<AwsStandIn> {
  return serve(async (request, response) => {
    const form = new URLSearchParams(request.body);
    if (form.get("Action") === "AssumeRoleWithWebIdentity") {
      assumeRoleWithWebIdentity(form, options, response);
      return;
    }
    const authorization = String(request.headers.authorization ?? "");
    const caller = options.callers.find((candidate) =>
      authorization.includes(`Credential=${candidate.accessKeyId}/`),
    );
    const problem = caller
      ? await verifySigV4(
          {
            method: request.method,
            path: request.path.split("?")[0]!,
            query: {},
            headers: request.headers,
            body: Buffer.from(request.body),
          },
          caller,
        )
      : { type: "InvalidClientTokenId", message: "The security token included in the request is invalid." };
    const token = request.headers["x-amz-security-token"];
    const tokenProblem = caller?.sessionToken !== undefined && token !== caller.sessionToken;
    if (problem || tokenProblem || form.get("Action") !== "AssumeRole") {
      response.writeHead(403, { "content-type": "text/xml" });
      response.end(
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${problem?.type ?? "InvalidClientTokenId"}</Code><Message>${problem?.message ?? "The security token included in the request is invalid."}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
      return;
    }
    const roleArn = form.get("RoleArn") ?? "";
    const sessionName = form.get("RoleSessionName") ?? "";
    const served = options.credentials(roleArn, sessionName);
    response.writeHead(200, { "content-type": "text/xml" });
    response.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROAMOCK:${sessionName}</AssumedRoleId><Arn>${roleArn.replace(":role/", ":assumed-role/")}/${sessionName}</Arn></AssumedRoleUser><Credentials><AccessKeyId>${served.accessKeyId}</AccessKeyId><SecretAccessKey>${served.secretAccessKey}</SecretAccessKey><SessionToken>${served.sessionToken}</SessionToken><Expiration>${served.expiration.toISOString()}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  });
}

function stsError(response: ServerResponse, code: string, message: string): void {
  response.writeHead(403, { "content-type": "text/xml" });
  response.end(
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function assumeRoleWithWebIdentity(
  form: URLSearchParams,
  options: {
    credentials: (roleArn: string, sessionName: string) => ServedCredentials;
    webIdentityTokens?: string[];
  },
  response: ServerResponse,
): void {
  const token = form.get("WebIdentityToken") ?? "";
  if (!options.webIdentityTokens?.includes(token)) {
    stsError(response, "InvalidIdentityToken", "The web identity token that was passed is not valid.");
    return;
  }
  const roleArn = form.get("RoleArn") ?? "";
  const sessionName = form.get("RoleSessionName") ?? "";
  const served = options.credentials(roleArn, sessionName);
  response.writeHead(200, { "content-type": "text/xml" });
  response.end(
    `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>system:serviceaccount:llmux:gateway</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience><AssumedRoleUser><AssumedRoleId>AROAMOCK:${sessionName}</AssumedRoleId><Arn>${roleArn.replace(":role/", ":assumed-role/")}/${sessionName}</Arn></AssumedRoleUser><Credentials><AccessKeyId>${served.accessKeyId}</AccessKeyId><SecretAccessKey>${served.secretAccessKey}</SecretAccessKey><SessionToken>${served.sessionToken}</SessionToken><Expiration>${served.expiration.toISOString()}</Expiration></Credentials><Provider>oidc.eks.us-east-1.amazonaws.com/id/MOCK</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
  );
}

/**
 * The IAM Identity Center (SSO) portal's GetRoleCredentials (`GET /federation/credentials?account_id=
 * &role_name=`, bearer token in `x-amz-sso_bearer_token`), reached through AWS_ENDPOINT_URL_SSO. The
 * token must be `accessToken` (what `aws sso login` cached) and the account and role one of `roles`;
 * the answer is `credentials(accountId, roleName)` in the portal's JSON (expiration in epoch ms).
 */
export function startSsoPortalServer(options: {
  accessToken: string;
  roles: Array<{ accountId: string; roleName: string }>;
  credentials: (accountId: string, roleName: string) => ServedCredentials;
}): Promise<AwsStandIn> {
  return serve((request, response) => {
    const url = new URL(request.path, "http://127.0.0.1");
    if (request.method !== "GET" || url.pathname !== "/federation/credentials") {
      sendJson(response, 404, { message: `no route ${request.method} ${url.pathname}` });
      return;
    }
    if (request.headers["x-amz-sso_bearer_token"] !== options.accessToken) {
      response.writeHead(401, {
        "content-type": "application/json",
        "x-amzn-errortype": "UnauthorizedException",
      });
      response.end(JSON.stringify({ message: "Session token not found or invalid" }));
      return;
    }
    const accountId = url.searchParams.get("account_id") ?? "";
    const roleName = url.searchParams.get("role_name") ?? "";
    if (!options.roles.some((role) => role.accountId === accountId && role.roleName === roleName)) {
      response.writeHead(403, {
        "content-type": "application/json",
        "x-amzn-errortype": "ForbiddenException",
      });
      response.end(JSON.stringify({ message: "No access" }));
      return;
    }
    const served = options.credentials(accountId, roleName);
    sendJson(response, 200, {
      roleCredentials: {
        accessKeyId: served.accessKeyId,
        secretAccessKey: served.secretAccessKey,
        sessionToken: served.sessionToken,
        expiration: served.expiration.getTime(),
      },
    });
  });
}
