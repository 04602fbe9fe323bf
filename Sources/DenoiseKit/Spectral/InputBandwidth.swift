import Foundation

/// The band a recording actually holds. Much audio carries nothing above some cutoff (codecs,
/// phones, video sites: 3.4-7 kHz). Full-band atoms predict energy there that the input lacks, so
/// the divergence there rejects the noise atoms and the speech atoms end up explaining the noise;
/// the solve should see only the band the input holds (`DenoiserOptions.bandwidth`).
public enum InputBandwidth {
    /// A bin is empty when its mean power is this far below the median of 300 Hz–3 kHz (dB). Stop
    /// bands of 16-bit files sit 45-55 dB down (the quantization floor: a real air-conditioner clip
    /// cut at 5.8 kHz, xrec low-passed at 4-7 kHz), while the real recordings and xrec pairs that
    /// fill the band stay within 25 dB up to 7 kHz and 40 dB up to 7.9 kHz.
    public static let emptyBelowDB: Float = -35
    /// Cutoffs above this share of the Nyquist frequency count as the full band: ordinary
    /// anti-alias filters end there, and leaving out those few bins changes nothing.
    public static let fullShare = 0.9
    /// Cutoffs below this are not believed (a silent or pathological input): the full band is used.
    public static let lowestHz = 1000.0

    /// The frequency (Hz) above which `meanPower` (mean |X|² per STFT bin, 0 … Nyquist, at
    /// `sampleRate`) holds nothing, or nil when the input fills the band.
    public static func cutoff(meanPower p: [Float], sampleRate: Int) -> Double? {
        guard p.count >= 8 else { return nil }
        let nyquist = Double(sampleRate) / 2, hzPerBin = nyquist / Double(p.count - 1)
        let reference = p[Int((300 / hzPerBin).rounded(.up))...Int(3000 / hzPerBin)].sorted()
        guard let median = reference.isEmpty ? nil : reference[reference.count / 2], median > 0, median.isFinite else { return nil }
        let threshold = median * pow(10, emptyBelowDB / 10)
        // The median of 9 bins (140 Hz at 16 kHz), so that a tone or hum in the stop band does not count.
        let smoothed = p.indices.map { f in
            let near = p[max(0, f - 4)...min(p.count - 1, f + 4)].sorted()
            return near[near.count / 2]
        }
        guard let top = smoothed.lastIndex(where: { $0 >= threshold }) else { return nil }
        let hz = Double(top + 1) * hzPerBin
        return hz < fullShare * nyquist && hz >= lowestHz ? hz : nil
    }

    /// `cutoff` of one channel at `sampleRate`.
    public static func cutoff(_ signal: [Float], stft: STFT, sampleRate: Int) -> Double? {
        let power = stft.forward(signal).magnitude(exponent: 2)
        guard power.cols > 0 else { return nil }
        return cutoff(meanPower: rowSums(power).map { $0 / Float(power.cols) }, sampleRate: sampleRate)
    }

    /// The first STFT bin at or above `hz` for `bins` bins at `sampleRate`: the solve keeps the bins below it.
    public static func bin(of hz: Double, bins: Int, sampleRate: Int) -> Int {
        min(bins, max(1, Int((hz / (Double(sampleRate) / 2) * Double(bins - 1)).rounded(.up))))
    }
}
