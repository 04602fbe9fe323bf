import DenoiseKit
import Foundation
import Testing

/// Batches that outgrow a session: folders, lists, shards, resuming, logs and the HTML report.
@Suite struct BatchReportTests {
    /// A folder tree of small recordings (and one broken file) to clean.
    struct Tree {
        let s: Scratch
        let root: String
        let files: [String]

        init() throws {
            s = try Scratch()
            root = s.path("recordings")
            let names = ["a.wav", "sub/b.wav", "sub/deeper/c.flac", "other/b.wav", "other/d.wav"]
            var rng = SeededGenerator(seed: 11)
            for (i, name) in names.enumerated() {
                let path = (root as NSString).appendingPathComponent(name)
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let x = (0..<8000).map { j in 0.2 * Float(sin(Double(j) * 0.05 * Double(i + 1))) + 0.05 * (2 * rng.nextUnitFloat() - 1) }
                try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: x), to: path)
            }
            files = names
        }

        func run(_ extra: [String]) throws -> CLIResult {
            try denoise(["run", "--speech", s.speech, "--noise", s.noise] + extra)
        }
    }

    static func records(_ log: String) throws -> [BatchRecord] { try BatchRecord.read(log: log) }

    /// A folder is searched recursively and mirrored: no two outputs collide.
    @Test func foldersAreMirrored() throws {
        let t = try Tree()
        defer { t.s.remove() }
        let out = t.s.path("cleaned")
        let r = try t.run([t.root, "-o", out, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        for name in t.files {
            let cleaned = (out as NSString).appendingPathComponent(name)
            #expect(try AudioFile.read(cleaned).0.frameCount == 8000, "\(name)")
        }
    }

    /// Two shards of a list (given on standard input's stand-in, a file, and as arguments) clean
    /// every file exactly once between them, each logging what it did.
    @Test func twoShardsCoverTheListExactlyOnce() throws {
        let t = try Tree()
        defer { t.s.remove() }
        // a.wav as an argument; a folder (b.wav, deeper/c.flac) and a file (d.wav) in the list.
        let list = t.s.path("list.txt"), out = t.s.path("cleaned")
        try ["sub", "  other/d.wav", ""].map { $0.isEmpty ? "" : (t.root as NSString).appendingPathComponent($0.trimmingCharacters(in: .whitespaces)) }
            .joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        var seen: [String] = []
        for k in 0..<2 {
            let log = t.s.path("shard-\(k).jsonl")
            let r = try t.run([(t.root as NSString).appendingPathComponent("a.wav"), "--files-from", list, "-o", out,
                               "--shard", "\(k)/2", "--log", log, "-q"])
            #expect(r.status == 0, "\(r.stderr)")
            let records = try Self.records(log)
            #expect(records.allSatisfy { $0.status == .ok && $0.duration == 0.5 && $0.noise != nil && $0.removedDB != nil })
            #expect(records.count == 2)
            seen += records.map(\.input)
        }
        let expected = ["a.wav", "sub/b.wav", "sub/deeper/c.flac", "other/d.wav"].map { URL(fileURLWithPath: (t.root as NSString).appendingPathComponent($0)).standardized.path }
        #expect(seen.sorted() == expected.sorted(), "\(seen)")
        #expect(FileManager.default.fileExists(atPath: out + "/deeper/c.flac") && FileManager.default.fileExists(atPath: out + "/d.wav"))
        // A list whose names collide is refused by every shard alike, before any work.
        for k in 0..<2 {
            let r = try t.run([t.root + "/sub", t.root + "/other", "-o", t.s.path("clash"), "--shard", "\(k)/2", "-q"])
            #expect(r.status == 64 && r.stderr.contains("would both be written to"), "\(r.stderr)")
        }
        // Standard input as the list.
        let stdinRun = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "printf '%s\\n' '\((t.root as NSString).appendingPathComponent("a.wav"))' | '\(denoiseBinary.path)' run --speech '\(t.s.speech)' --noise '\(t.s.noise)' --files-from - -o '\(t.s.path("from-stdin"))' -q"])
        #expect(stdinRun.status == 0, "\(stdinRun.stderr)")
        #expect(FileManager.default.fileExists(atPath: t.s.path("from-stdin/a.wav")))
    }

    /// An interrupted batch resumes: outputs already in place are skipped (and logged so), a file
    /// that failed is tried again, a temporary left by a killed run is not taken for an output.
    @Test func skipExistingResumes() throws {
        let t = try Tree()
        defer { t.s.remove() }
        let out = t.s.path("cleaned"), log = t.s.path("log.jsonl")
        try Data("broken".utf8).write(to: URL(fileURLWithPath: (t.root as NSString).appendingPathComponent("other/broken.wav")))
        let first = try t.run([t.root, "-o", out, "--log", log, "-q"])
        #expect(first.status == 1 && first.stderr.contains("broken.wav"))
        try FileManager.default.removeItem(atPath: (out as NSString).appendingPathComponent("other/d.wav"))
        try Data().write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("other/.d.wav.12345.678.tmp")))
        let before = try Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("a.wav")))
        let second = try t.run([t.root, "-o", out, "--log", log, "--skip-existing", "-q"])
        #expect(second.status == 1)
        let records = try Self.records(log).suffix(6)
        #expect(records.filter { $0.status == .skipped }.count == 4)
        #expect(records.filter { $0.status == .ok }.map { ($0.input as NSString).lastPathComponent } == ["d.wav"])
        #expect(records.filter { $0.status == .failed }.map { ($0.input as NSString).lastPathComponent } == ["broken.wav"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("a.wav"))) == before)
    }

    /// The report of a batch with a failing file: every file listed, the failure shown first, every
    /// link resolves; made again from the log by `denoise report`; and rendered by a real browser
    /// (headless Chromium: a non-blank page with its players).
    @Test func reportListsEveryFileAndItsLinksResolve() throws {
        let t = try Tree()
        defer { t.s.remove() }
        try Data("broken".utf8).write(to: URL(fileURLWithPath: (t.root as NSString).appendingPathComponent("sub/broken.wav")))
        let out = t.s.path("cleaned"), log = t.s.path("log.jsonl")
        let r = try t.run([t.root, "-o", out, "--report", "--log", log, "--jobs", "2", "-q"])
        #expect(r.status == 1)
        for folder in [out, t.s.path("from-log")] {
            if folder != out {
                let again = try denoise(["report", log, "-o", folder])
                #expect(again.status == 0, "\(again.stderr)")
            }
            let page = (folder as NSString).appendingPathComponent("report.html")
            let html = try String(contentsOfFile: page, encoding: .utf8)
            for name in t.files + ["sub/broken.wav"] {
                #expect(html.contains(">\((name as NSString).lastPathComponent)</h2>"), "\(name) missing")
            }
            #expect(html.components(separatedBy: "<section").count - 1 == 6)
            let firstSection = html.components(separatedBy: "<section")[1]
            #expect(firstSection.contains("class=\"failed\"") && firstSection.contains("broken.wav") && firstSection.contains("not a readable audio file"))
            let links = Self.links(in: html)
            #expect(links.filter { $0.hasSuffix(".png") }.count == 5 && links.filter { !$0.hasSuffix(".png") }.count == 10)
            for link in links {
                let target = URL(fileURLWithPath: folder).appendingPathComponent(link.removingPercentEncoding!).standardized.path
                #expect(FileManager.default.fileExists(atPath: target), "\(link) does not resolve")
            }
            try Self.checkInBrowser(page, players: 10)
        }
    }

    /// The src attributes of a page.
    static func links(in html: String) -> [String] {
        html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    /// Opens `page` in headless Chromium (installed in CI by `scripts/install-deps.sh --browser`;
    /// elsewhere the check is skipped when there is none): the rendered DOM has the players, and a
    /// screenshot is not blank.
    static func checkInBrowser(_ page: String, players: Int) throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first(where: FileManager.default.isExecutableFile) else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "CI must have headless Chromium (scripts/install-deps.sh --browser)")
            print("skipped: no chromium for the report's rendering check")
            return
        }
        let url = URL(fileURLWithPath: page).absoluteString
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(NSTemporaryDirectory())/denoise-chromium-\(UUID().uuidString)"]
        let dom = try runProcess(URL(fileURLWithPath: chromium), flags + ["--dump-dom", url])
        #expect(dom.stdout.components(separatedBy: "<audio").count - 1 == players, "rendered DOM: \(dom.stdout.prefix(300)) \(dom.stderr.suffix(300))")
        let shot = (NSTemporaryDirectory() as NSString).appendingPathComponent("denoise-report-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(atPath: shot) }
        _ = try runProcess(URL(fileURLWithPath: chromium), flags + ["--screenshot=\(shot)", "--window-size=1280,1600", url])
        let png = try DecodedPNG(contentsOf: shot)
        #expect(png.width == 1280 && png.height == 1600)
        // Text and spectrograms: many colours, and far from all white.
        let colours = Set(png.pixels)
        let dark = png.pixels.filter { ($0 >> 16 & 0xFF) + ($0 >> 8 & 0xFF) + ($0 & 0xFF) < 300 }.count
        print("browser screenshot: \(colours.count) colours, \(dark) dark pixels of \(png.pixels.count)")
        #expect(colours.count > 200 && dark > png.pixels.count / 50, "\(colours.count) colours, \(dark) dark pixels")
    }

    @Test func badBatchOptionsAreOneLineErrors() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.expectFailure(["run", s.input, "-o", s.path("x.wav"), "--shard", "2/2"], status: 64)
        try s.expectFailure(["run", s.input, "-o", s.path("x.wav"), "--skip-existing"], status: 64, prefix: "--skip-existing, --shard and --report are for batches")
        try s.expectFailure(["run", "--files-from", s.path("no-list"), "-o", s.path("out")], prefix: "cannot read '\(s.path("no-list"))': no such file")
        try s.expectFailure(["run", s.input, s.input, "-o", s.dir.path, "--plot", s.path("p.png")], status: 64, prefix: "--plot draws one file")
        try s.expectFailure(["report", s.input, "-o", s.path("r")], prefix: "cannot read '\(s.input)': line 1 is not a denoise log record")
        try s.expectFailure(["run", "-o", s.path("out")], status: 64, prefix: "give the recordings to clean")
    }

    /// `plot NOISY` alone cleans it in memory and draws the same four panels, writing nothing else.
    @Test func plotCleansInMemory() throws {
        let s = try Scratch()
        defer { s.remove() }
        let before = s.listing
        let r = try denoise(["plot", s.input, "-o", s.path("p.png"), "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(s.listing).subtracting(before) == ["p.png"])
        let png = try DecodedPNG(contentsOf: s.path("p.png"))
        #expect(png.height == StackedPlot.Layout(width: StackedPlot.width, panelHeight: 200, panels: 4).height)
    }

    /// Logs of several runs merge: each input's last record counts, but a later skip does not hide
    /// the run that cleaned the file, and a later success replaces an earlier failure.
    @Test func reportMergesLogs() throws {
        let s = try Scratch()
        defer { s.remove() }
        let out = s.path("out.wav")
        #expect(try denoise(["run", s.input, "-o", out, "--speech", s.speech, "--noise", s.noise, "-q"]).status == 0)
        let (a, b) = (URL(fileURLWithPath: s.input).standardized.path, URL(fileURLWithPath: out).standardized.path)
        let first = BatchRecord(input: a, output: b, status: .ok, duration: 1, noise: "dictionary-of-the-first-run", removedDB: 3, seconds: 0.1)
        let skipped = BatchRecord(input: a, output: b, status: .skipped)
        let failed = BatchRecord(input: "/nowhere/x.wav", output: "/nowhere/y.wav", status: .failed, error: "broken")
        let retried = BatchRecord(input: "/nowhere/x.wav", output: "/nowhere/y.wav", status: .failed, error: "still broken")
        try (first.jsonLine + failed.jsonLine).write(toFile: s.path("one.jsonl"), atomically: true, encoding: .utf8)
        try (skipped.jsonLine + retried.jsonLine).write(toFile: s.path("two.jsonl"), atomically: true, encoding: .utf8)
        let r = try denoise(["report", s.path("one.jsonl"), s.path("two.jsonl"), "-o", s.path("report")])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try String(contentsOfFile: s.path("report/report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<section").count - 1 == 2)
        #expect(html.contains("dictionary-of-the-first-run") && !html.contains(">skipped<") && html.contains("still broken") && !html.contains(": broken<"))
        #expect(html.range(of: "still broken")!.lowerBound < html.range(of: "dictionary-of-the-first-run")!.lowerBound, "failures first")
    }

    /// `run --plot` draws the picture of the file it cleaned.
    @Test func runDrawsItsPlot() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try denoise(["run", s.input, "-o", s.path("out.wav"), "--speech", s.speech, "--noise", s.noise, "--plot", s.path("p.png")])
        #expect(r.status == 0, "\(r.stderr)")
        let png = try DecodedPNG(contentsOf: s.path("p.png"))
        #expect(png.width == StackedPlot.width && png.height == StackedPlot.Layout(width: StackedPlot.width, panelHeight: 200, panels: 4).height)
    }
}
