// @serialport/binding-mock ships types its package.json "exports" do not point to under
// NodeNext resolution; this names the part the tests use.
declare module '@serialport/binding-mock' {
  export const MockBinding: {
    reset(): void;
    createPort(path: string, opt?: { echo?: boolean; record?: boolean }): void;
  };
}
