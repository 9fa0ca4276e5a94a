import { defineConfig } from "tsup";
import { appTsup } from "../../tsup.app";

export default defineConfig(appTsup);
