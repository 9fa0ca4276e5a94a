// The Koa 2 and Koa 3 dev dependencies are installed under aliases; both use @types/koa's API.
declare module "koa2" {
  import Koa from "koa";
  export default Koa;
}
declare module "koa3" {
  import Koa from "koa";
  export default Koa;
}
