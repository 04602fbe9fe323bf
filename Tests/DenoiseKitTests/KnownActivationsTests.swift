import Foundation
import Testing
@testable import DenoiseKit

/// The activations solved while fitting a recording (`Denoiser.fitBeginning`) are the ones its
/// cleaning would solve: taken instead, the output is the same; they are really taken (wrong ones
/// change the output), and only from the same solve and where the stream sees what the fit saw.
@Suite struct KnownActivationsTests {
    static let rate = DenoiserTests.rate, hop = DenoiserTests.stft.hop

    static let noisy: [Float] = zip(DenoiserTests.voiced(seconds: 3, seed: 71),
                                    randomSignal(count: 3 * rate, seed: 72, amplitude: 0.02)).map { $0 + $1 }

    /// `x` cleaned by a pipeline given `known`, fed in pushes of 1000 frames.
    static func cleaned(_ x: [Float], _ denoiser: Denoiser, known: KnownActivations?, channels: Int = 1) throws -> [Float] {
        let pipeline = try CleaningPipeline(denoiser: denoiser, sampleRate: rate, channels: channels, known: known)
        var out: [Float] = []
        for start in stride(from: 0, to: x.count, by: 1000 * channels) {
            out += x[start..<min(start + 1000 * channels, x.count)].withUnsafeBufferPointer { pipeline.process($0) }
        }
        return out + pipeline.finish()
    }

    static func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// The whole recording, or (as for a file longer than the fit's excerpt) only its first 2 s:
    /// then only the frames whose window lies inside those 2 s are known.
    @Test(arguments: [true, false])
    func reusedActivationsGiveTheSameOutput(whole: Bool) throws {
        // Blocks of 64 frames: the known frames end inside a block when not whole.
        let denoiser = DenoiserTests.makeDenoiser(blockFrames: 64)
        let fitted = whole ? Self.noisy : Array(Self.noisy.prefix(2 * Self.rate))
        let known = denoiser.fitBeginning(fitted, isWhole: whole).known
        let frames = DenoiserTests.stft.frameCount(samples: Self.noisy.count)
        #expect(known.frames == (whole ? frames : 2 * Self.rate / Self.hop))
        let solved = try Self.cleaned(Self.noisy, denoiser, known: nil)
        let reused = try Self.cleaned(Self.noisy, denoiser, known: known)
        #expect(reused.count == Self.noisy.count)
        let peak = solved.reduce(0) { max($0, abs($1)) }
        #expect(Self.largestDifference(solved, reused) < 1e-4 * peak)

        // Taken as given: activations of silence make the known frames silent.
        let silent = KnownActivations(h: Matrix(rows: known.h.rows, cols: known.frames), solve: denoiser.solve)
        let muted = try Self.cleaned(Self.noisy, denoiser, known: silent)
        let lastKnownSample = known.frames * Self.hop - DenoiserTests.stft.nFFT
        #expect(muted[..<lastKnownSample].allSatisfy { $0 == 0 })
        if !whole {   // and the frames after them are solved as before
            let later = (known.frames + 20) * Self.hop
            #expect(Self.largestDifference(Array(muted[later...]), Array(solved[later...])) < 1e-4 * peak)
        }
    }

    /// Activations from another solve (other iterations, other atoms), or for a stereo input (which
    /// the fit saw mixed down), are not taken.
    @Test func activationsTheStreamCannotUseAreIgnored() throws {
        let denoiser = DenoiserTests.makeDenoiser()
        let solved = try Self.cleaned(Self.noisy, denoiser, known: nil)
        let rank = denoiser.solver.rank, frames = 100
        let silent = KnownActivations(h: Matrix(rows: rank, cols: frames), solve: denoiser.solve)
        #expect(try Self.cleaned(Self.noisy, denoiser, known: silent) != solved)   // taken: the control
        let (speech, noise) = DenoiserTests.dictionaries
        var options = denoiser.options
        options.iterations += 1
        let otherIterations = try Denoiser(speech: speech, noise: [noise], options: options)
        let otherAtoms = try Denoiser(speech: speech, noise: [noise, noise], options: denoiser.options)
        for other in [otherIterations, otherAtoms] {
            let foreign = KnownActivations(h: Matrix(rows: other.solver.rank, cols: frames), solve: other.solve)
            #expect(try Self.cleaned(Self.noisy, denoiser, known: foreign) == solved)
        }
        let stereo = Self.noisy.flatMap { [$0, $0] }
        let both = try Self.cleaned(stereo, denoiser, known: nil, channels: 2)
        #expect(try Self.cleaned(stereo, denoiser, known: silent, channels: 2) == both)
    }
}
