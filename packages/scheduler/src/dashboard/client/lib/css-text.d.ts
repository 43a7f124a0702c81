/** A stylesheet imported by a client script comes as its text (scripts/bundle-client.mjs's loader). */
declare module '*.css' {
  const text: string;
  export default text;
}
