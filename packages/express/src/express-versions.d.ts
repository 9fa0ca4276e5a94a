// Test-only alias: `express5` is express@5, typed by @types/express (`express4` has its own alias types).
declare module "express5" {
  import express from "express";
  export = express;
}
