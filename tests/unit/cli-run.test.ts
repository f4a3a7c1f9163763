import { EXIT, FindingsError, reportError, UserError } from "../../tools/cli/run";

/** Captures what reportError prints, so a case can assert both the code and the one line. */
function report(err: unknown, argv: string[] = [], classify?: (e: unknown) => "usage" | "findings" | undefined) {
  const lines: string[] = [];
  const spy = jest.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  try {
    const code = reportError("tool", err, classify, argv);
    return { code, text: lines.join("\n") };
  } finally {
    spy.mockRestore();
  }
}

describe("the exit-code contract shared by every CLI", () => {
  it("reports bad input as one line with the tool's name and exits 2, without a trace", () => {
    const { code, text } = report(new UserError("--weight must be a whole number between 0 and 100, got 'ten'"));
    expect(code).toBe(EXIT.usage);
    expect(text).toBe("tool: --weight must be a whole number between 0 and 100, got 'ten'");
  });

  it("prints one indented line per problem after the message", () => {
    const { text } = report(new UserError("invalid stack configuration:", ["a is required", "b must be a number"]));
    expect(text.split("\n")).toEqual(["tool: invalid stack configuration:", "  a is required", "  b must be a number"]);
  });

  it("exits 1 for findings", () => {
    expect(report(new FindingsError("2 mandatory policy violations")).code).toBe(EXIT.findings);
  });

  it("adds the trace only when --debug is given", () => {
    const err = new UserError("bad");
    expect(report(err).text).not.toMatch(/\n\s+at /);
    expect(report(err, ["node", "cli", "--debug"]).text).toMatch(/\n\s+at /);
  });

  it("lets a CLI classify error classes of its own domain", () => {
    class StackFileError extends Error {}
    const classify = (e: unknown) => (e instanceof StackFileError ? ("usage" as const) : undefined);
    expect(report(new StackFileError("stacks/Pulumi.x.yaml: no such file"), [], classify)).toEqual({
      code: EXIT.usage,
      text: "tool: stacks/Pulumi.x.yaml: no such file",
    });
  });

  it("turns a file-system refusal into one line naming the path, exit 2", () => {
    const err = Object.assign(new Error("EACCES: permission denied, open '/x/y'"), { code: "EACCES", syscall: "open", path: "/x/y" });
    expect(report(err)).toEqual({ code: EXIT.usage, text: "tool: cannot open /x/y: EACCES" });
  });

  it("keeps commander's own message and maps its exit to 2 (0 for --help and --version)", () => {
    // Shaped like commander's CommanderError (an ES module jest cannot load): exitCode, code, message.
    const commanderError = (exitCode: number, code: string) => Object.assign(new Error(code), { exitCode, code });
    expect(report(commanderError(1, "commander.unknownOption")).code).toBe(EXIT.usage);
    expect(report(commanderError(0, "commander.version")).code).toBe(EXIT.ok);
  });

  it("treats anything else as a bug: exit 3 with the trace", () => {
    const { code, text } = report(new TypeError("x is undefined"));
    expect(code).toBe(EXIT.internal);
    expect(text).toMatch(/internal error/);
    expect(text).toMatch(/TypeError: x is undefined/);
  });
});
