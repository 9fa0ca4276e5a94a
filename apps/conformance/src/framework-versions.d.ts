// Framework majors installed side by side under npm aliases; each alias uses the types of its major.
declare module "express5" {
  import express from "express";
  export = express;
}
declare module "koa2" {
  import Koa from "koa";
  export default Koa;
}
declare module "koa3" {
  import Koa from "koa";
  export default Koa;
}
