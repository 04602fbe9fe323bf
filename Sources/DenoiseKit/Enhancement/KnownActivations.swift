import Foundation

/// The activations of a recording's first frames, solved while fitting the model to it (the steady
/// floor and the pause gate are measured on them), for its cleaning to take instead of solving the
/// same frames again with the same atoms: a file of up to a minute is then solved once, not twice.
public struct KnownActivations: Sendable {
    /// [rank × frames]: H of the recording's frames 0 ..< frames.
    let h: Matrix
    /// The solve they came from: a stream takes them only if its own is the same.
    let solve: Denoiser.Solve
    public var frames: Int { h.cols }
}

extension Denoiser {
    /// What a frame's activations depend on besides the frame: two denoisers that agree on it solve
    /// every frame alike (the floor, the gate and the mask bases may differ).
    struct Solve: Sendable, Equatable {
        let atoms: Matrix, layers: Matrix, beta: Float, sparsity: Float, iterations: Int, bands: FrequencyBands?, exponent: Float
    }

    var solve: Solve {
        Solve(atoms: solver.W, layers: solver.layers, beta: solver.divergence.beta, sparsity: solver.sparsity,
              iterations: solver.iterations, bands: bands, exponent: exponent)
    }
}

extension Denoiser {
    /// The speech estimate of the first `SteadyNoise.excerptSeconds` of `signal` (one channel at the
    /// model's rate; `speechEstimate(ofBeginning:)`) and the activations it comes from, for the
    /// frames the recording's cleaning sees alike: all of them when `signal` is the whole recording
    /// (`isWhole`), else those whose window lies inside the excerpt (the later ones see the rest of
    /// the recording there, not zeros).
    public func fitBeginning(_ signal: [Float], isWhole: Bool) -> (speech: Matrix, known: KnownActivations) {
        let limit = Int(SteadyNoise.excerptSeconds * Double(sampleRate))
        let excerpt = Array(signal.prefix(limit))
        let h = activations(stft.forward(excerpt).magnitude(exponent: exponent))
        // Frame t ends at sample (t + 1)·hop.
        let frames = isWhole && signal.count < limit ? h.cols : min(excerpt.count / stft.configuration.hop, h.cols)
        return (speechEstimate(activations: h), KnownActivations(h: h.columns(0..<frames), solve: solve))
    }
}
