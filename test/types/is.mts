// is<T>()(value) compiles only when value's type is exactly T: a type test
// must tell `string` from `any` and from `string | Buffer`.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export function is<Want>() {
  return <Got,>(_value: Got, ..._exact: Equals<Got, Want> extends true ? [] : [never]): void => {};
}
