/**
 * Experiment lookup by name through MLflow's REST API, creating it when it does not exist:
 * GET /api/2.0/mlflow/experiments/get-by-name, then POST /api/2.0/mlflow/experiments/create.
 */
import { createMlflowError, isMlflowError } from "./errors";
import { createHttpClient, type MlflowHttpClient } from "./http-client";
import type { ResolveExperimentOptions } from "./types";

interface GetByNameResponse {
  experiment?: { experiment_id?: string; name?: string; lifecycle_stage?: string };
}

interface CreateResponse {
  experiment_id?: string;
}

/**
 * Returns the id of the experiment named `experimentName`, creating it when missing. Rejects with an
 * MlflowError: kind "http"/"network" (retry later), "config", or "experiment_deleted".
 */
export async function resolveExperiment(options: ResolveExperimentOptions): Promise<string> {
  return resolveExperimentWith(createHttpClient(options), options.experimentName);
}

export async function resolveExperimentWith(
  client: MlflowHttpClient,
  experimentName: string,
): Promise<string> {
  const name = experimentName.trim();
  if (name === "") throw createMlflowError("config", "the MLflow experiment name is empty");
  const existing = await getByName(client, name);
  if (existing !== undefined) return existing;
  try {
    const created = await client.callJson<CreateResponse>("POST", "/api/2.0/mlflow/experiments/create", {
      json: { name },
    });
    if (typeof created.experiment_id !== "string" || created.experiment_id === "") {
      throw createMlflowError("protocol", "experiments/create answered without an experiment_id");
    }
    return created.experiment_id;
  } catch (error) {
    // another process created it between our lookup and create
    if (
      isMlflowError(error) &&
      (error.errorCode === "RESOURCE_ALREADY_EXISTS" || error.errorCode === "ALREADY_EXISTS")
    ) {
      const raced = await getByName(client, name);
      if (raced !== undefined) return raced;
    }
    throw error;
  }
}

async function getByName(client: MlflowHttpClient, name: string): Promise<string | undefined> {
  try {
    const response = await client.callJson<GetByNameResponse>(
      "GET",
      "/api/2.0/mlflow/experiments/get-by-name",
      {
        query: { experiment_name: name },
      },
    );
    const experiment = response.experiment;
    if (!experiment || typeof experiment.experiment_id !== "string") {
      throw createMlflowError("protocol", "experiments/get-by-name answered without an experiment");
    }
    if (experiment.lifecycle_stage === "deleted") {
      throw createMlflowError(
        "experiment_deleted",
        `MLflow experiment "${name}" (id ${experiment.experiment_id}) is deleted: restore it or choose another MLFLOW_EXPERIMENT_NAME`,
      );
    }
    return experiment.experiment_id;
  } catch (error) {
    if (
      isMlflowError(error) &&
      error.kind === "http" &&
      (error.errorCode === "RESOURCE_DOES_NOT_EXIST" || error.status === 404)
    ) {
      return undefined;
    }
    throw error;
  }
}
