import Foundation
import XCTest

/// The man pages and bash completion generated from the tools' --help (scripts/manpages,
/// scripts/completion/generate): complete, well-formed, and in step with the binaries.
final class ManPageTests: XCTestCase {
    private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    private let tools = ["mcollect", "mstore", "mquery", "malert", "mnotify"]

    /// Runs a bash script in the package root with the built tools first on PATH.
    private func bash(_ script: String, _ arguments: [String] = []) throws -> ToolRun {
        let setup = "cd \"$1\" && export PATH=\"$2:$PATH\" && shift 2 && "
        return try runProgram("/bin/bash", ["-c", setup + script, "bash", packageRoot.path, toolDirectory.path] + arguments)
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("manpages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Every option name in the Options block of `tool --help` (`-i`, `--input`, ...).
    private func optionNames(_ tool: String) throws -> [String] {
        let help = try runTool(tool, ["--help"]).stdout
        let block = help.components(separatedBy: "\nOptions:\n")[1].components(separatedBy: "\n\n")[0]
        return block.split(separator: "\n").flatMap { line -> [String] in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("-") else { return [] }  // a long label's help, on its own line
            let label = trimmed.components(separatedBy: "  ")[0]
            return label.components(separatedBy: ", ").map { String($0.split(separator: " ")[0]) }
        }
    }

    func testEveryPageHasItsHeaderAndEveryOption() throws {
        let directory = try temporaryDirectory()
        let run = try bash("scripts/manpages \"$1\"", [directory.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        for tool in tools {
            let page = try String(contentsOf: directory.appendingPathComponent("\(tool).1"), encoding: .utf8)
            XCTAssertTrue(page.hasPrefix(".TH \(tool.uppercased()) 1"), tool)
            for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS", "SEE ALSO"] {
                XCTAssertTrue(page.contains("\n.SH \(section)\n"), "\(tool).1 has no \(section)")
            }
            let options = page.components(separatedBy: "\n.SH OPTIONS\n")[1].components(separatedBy: "\n.SH ")[0]
            let names = try optionNames(tool)
            XCTAssertFalse(names.isEmpty, tool)
            for name in names {
                XCTAssertTrue(options.contains("\\fB" + name.replacingOccurrences(of: "-", with: "\\-") + "\\fR"),
                              "\(tool).1 OPTIONS lacks \(name)")
            }
            for other in tools where other != tool {
                XCTAssertTrue(page.contains("\\fB\(other)\\fR(1)"), "\(tool).1 does not refer to \(other)")
            }
        }
        let mstore = try String(contentsOf: directory.appendingPathComponent("mstore.1"), encoding: .utf8)
        XCTAssertTrue(mstore.contains("\n.SS mstore compact\n") && mstore.contains("\\fB\\-\\-retention\\fR"))
        let mnotify = try String(contentsOf: directory.appendingPathComponent("mnotify.1"), encoding: .utf8)
        XCTAssertTrue(mnotify.contains("\n.SS mnotify silence add\n") && mnotify.contains("\\fB\\-\\-comment\\fR"))
    }

    func testPagesRenderWithoutWarnings() throws {
        let directory = try temporaryDirectory()
        XCTAssertEqual(try bash("scripts/manpages \"$1\"", [directory.path]).status, 0)
        let check = """
            for page in "$1"/*.1; do
              if command -v groff >/dev/null; then groff -man -Tutf8 -ww -z "$page"
              elif command -v mandoc >/dev/null; then mandoc -Tlint -W warning "$page"
              elif command -v man >/dev/null; then man --warnings -l "$page" >/dev/null
              else echo "no formatter" >&2; exit 3; fi
            done
            """
        let run = try bash(check, [directory.path])
        if run.status == 3 { throw XCTSkip("neither groff, mandoc nor man is installed") }
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "")
    }

    /// What the completion function offers for the command line `words` (the last one being completed).
    private func complete(_ words: [String]) throws -> [String] {
        let script = """
            source scripts/completion/bash/mtools
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            _mtools
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let run = try bash(script, words)
        XCTAssertEqual(run.status, 0, run.stderr)
        return run.stdout.split(separator: "\n").map(String.init)
    }

    func testCompletionOffersSubcommandsOptionsAndValues() throws {
        XCTAssertEqual(try complete(["mnotify", "si"]), ["silence"])
        XCTAssertEqual(try complete(["mcollect", "--coll"]), ["--collect"])
        XCTAssertEqual(try complete(["mnotify", "silence", ""]), ["add", "list", "expire"])
        XCTAssertEqual(try complete(["mnotify", "silence", "add", "--co"]), ["--comment"])
        XCTAssertEqual(try complete(["mstore", "c"]), ["check", "compact"])
        XCTAssertEqual(try complete(["mcollect", "--collect", "me"]), ["meminfo"])
        XCTAssertEqual(try complete(["mcollect", "--collect", "cpu,lo"]), ["cpu,loadavg"])
        XCTAssertEqual(try complete(["mcollect", "--no-collect", "=", "vm"]), ["vmstat"])
        XCTAssertEqual(try complete(["mquery", "--output-format", "s"]), ["svg"])
        XCTAssertEqual(try complete(["mquery", "--store", "Sourc"]), ["Sources"])
        XCTAssertEqual(try complete(["malert", "--state", "Package.sw"]), ["Package.swift"])
    }

    func testCommittedCompletionMatchesTheTools() throws {
        let directory = try temporaryDirectory()
        let fresh = directory.appendingPathComponent("mtools")
        let run = try bash("scripts/completion/generate \"$1\"", [fresh.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("scripts/completion/bash/mtools"), encoding: .utf8)
        XCTAssertEqual(try String(contentsOf: fresh, encoding: .utf8), committed,
                       "an option changed: run PATH=$PWD/.build/debug:$PATH scripts/completion/generate")
    }
}
