import Foundation
import Testing
@testable import DenoiseKit

/// Pictures are read back with Cairo and checked pixel by pixel.
@Suite struct PlotTests {
    /// Brightness (R + G + B) of a picture's pixel.
    static func brightness(_ png: DecodedPNG, _ x: Double, _ y: Double) -> Int {
        let p = png[Int(x), Int(y)]
        return Int(p >> 16 & 0xFF) + Int(p >> 8 & 0xFF) + Int(p & 0xFF)
    }

    /// A 1 kHz tone in the input and not in the output: bright at 1 kHz in the input and removed
    /// panels, dark there in the output panel; elsewhere (3 kHz, noise only) the panels agree.
    @Test func aToneRemovedShowsInTheInputAndRemovedPanelsOnly() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rate = 16000, n = 3 * rate
        let noise = randomSignal(count: n, seed: 1, amplitude: 0.01)
        let noisy = (0..<n).map { noise[$0] + 0.5 * Float(sin(2 * Double.pi * 1000 * Double($0) / Double(rate))) }
        let (a, b) = (dir.appendingPathComponent("noisy.wav").path, dir.appendingPathComponent("cleaned.wav").path)
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: noisy), to: a, like: .wav(.f32))
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: noise), to: b, like: .wav(.f32))
        let pictures = try CleaningSpectrograms.compare(noisy: a, cleaned: b)
        #expect(abs(pictures.duration - 3) < 1e-9)
        #expect(pictures.levelDropDB > 30, "level drop \(pictures.levelDropDB) dB")
        let path = dir.appendingPathComponent("plot.png").path
        let layout = try pictures.draw(to: path, title: "test", subtitle: "a tone removed")
        let png = try DecodedPNG(contentsOf: path)
        #expect(png.width == StackedPlot.width && png.height == layout.height)
        func at(_ panel: Int, kHz: Double) -> Int {
            let r = layout.image(panel)
            return Self.brightness(png, r.x + r.width / 2, r.y + r.height * (1 - kHz / 8))
        }
        let (input, output, removed) = (at(0, kHz: 1), at(1, kHz: 1), at(2, kHz: 1))
        #expect(input > 500 && removed > 500, "tone row: input \(input), removed \(removed)")
        #expect(input - output > 250 && abs(output - at(1, kHz: 3)) < 60, "the output's tone row \(output) against its noise \(at(1, kHz: 3))")
        #expect(abs(at(0, kHz: 3) - at(1, kHz: 3)) < 40, "noise row: input \(at(0, kHz: 3)), output \(at(1, kHz: 3))")
    }

    /// An hour at 48 kHz is summarized to at most 1600 columns, one window of samples held.
    @Test func aLongSignalIsSummarized() throws {
        let rate = 48000, seconds = 3600
        let summary = try SpectrogramSummary(sampleRate: rate, samples: rate * seconds)
        #expect(summary.columns == 1600 && summary.bins == 1537)
        // Half a minute is enough to see the columns fill in order (140 frames each; `finish` would
        // take the rest of the hour as silence).
        summary.add([Float](repeating: 0.1, count: rate * 30))
        let filled = (0..<summary.columns).filter { c in summary.power[c * summary.bins] > 0 }
        #expect(filled == Array(0..<filled.count) && (13...14).contains(filled.count), "\(filled.count) columns filled")
    }

    /// The atoms' picture has a column per atom, low atoms on the left.
    @Test func atomsAreDrawnLowToHigh() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var atoms = Matrix(rows: 513, cols: 2)
        for f in 380..<420 { atoms[f, 0] = 1 }  // a high atom first
        for f in 30..<50 { atoms[f, 1] = 1 }
        let d = SpectralDictionary(atoms: atoms, kind: .noise, sampleRate: 16000, stft: STFTConfiguration(), beta: 1, iterations: 1)
        let path = dir.appendingPathComponent("atoms.png").path
        try d.drawAtoms(to: path, title: "two atoms")
        let png = try DecodedPNG(contentsOf: path)
        let layout = StackedPlot.Layout(width: StackedPlot.width, panelHeight: 420, panels: 1), r = layout.image(0)
        let low = r.y + r.height * (1 - 40.0 / 512), high = r.y + r.height * (1 - 400.0 / 512)
        #expect(Self.brightness(png, r.x + r.width / 4, low) > 500 && Self.brightness(png, r.x + 3 * r.width / 4, high) > 500)
        #expect(Self.brightness(png, r.x + r.width / 4, high) < 100 && Self.brightness(png, r.x + 3 * r.width / 4, low) < 100)
    }

    @Test func notAPictureIsAnError() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.png").path
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: DenoiseError.self) { try DecodedPNG(contentsOf: path) }
    }
}
