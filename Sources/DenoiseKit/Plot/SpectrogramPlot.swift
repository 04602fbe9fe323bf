import Foundation

/// One image of a stacked plot: values [rows × cols] (column-major, row 0 the lowest frequency),
/// coloured from `range` (magma), with its own colour bar labelled `unit`.
public struct PlotPanel: Sendable {
    public var title: String
    public var values: [Float]
    public var rows: Int, cols: Int
    public var range: ClosedRange<Float>
    public var unit: String

    public init(title: String, values: [Float], rows: Int, cols: Int, range: ClosedRange<Float>, unit: String) {
        self.title = title
        self.values = values
        self.rows = rows
        self.cols = cols
        self.range = range
        self.unit = unit
    }
}

/// What the horizontal axis shows: seconds (labelled as times) or counted items (atoms).
public enum PlotXAxis: Sendable {
    case time(seconds: Double)
    case index(count: Int, label: String)
}

/// Panels stacked on one horizontal axis, frequency in kHz up the side, a colour bar per panel, a
/// title line; drawn with Cairo into a PNG.
public enum StackedPlot {
    public static let width = 1200

    /// Where things go: margins around the panels, and each panel's image rectangle.
    public struct Layout: Sendable {
        public let width: Int, panelHeight: Int, panels: Int
        static let left = 70.0, right = 110.0, top = 58.0, gap = 34.0, bottom = 50.0, label = 14.0

        public init(width: Int, panelHeight: Int, panels: Int) {
            (self.width, self.panelHeight, self.panels) = (width, panelHeight, panels)
        }

        public var height: Int { Int(Self.top + Double(panels) * (Double(panelHeight) + Self.gap) - Self.gap + Self.bottom) }

        /// Panel `i`'s image (x, y, width, height) in pixels; frequency 0 at its bottom edge.
        public func image(_ i: Int) -> (x: Double, y: Double, width: Double, height: Double) {
            (Self.left, Self.top + Double(i) * (Double(panelHeight) + Self.gap) + Self.label,
             Double(width) - Self.left - Self.right, Double(panelHeight) - Self.label)
        }
    }

    /// Writes the plot to `path` atomically; returns where its panels are.
    @discardableResult
    public static func draw(title: String, subtitle: String, panels: [PlotPanel], x: PlotXAxis, topKHz: Double,
                            to path: String, width: Int = StackedPlot.width, panelHeight: Int = 200) throws(DenoiseError) -> Layout {
        let layout = Layout(width: width, panelHeight: panelHeight, panels: panels.count)
        let canvas = try Canvas(width: width, height: layout.height)
        canvas.fill(x: 0, y: 0, width: Double(width), height: Double(layout.height), .white)
        canvas.text(title, x: Layout.left, y: 22, size: 15, bold: true)
        canvas.text(subtitle, x: Layout.left, y: 42, size: 11, .grey)
        for (i, panel) in panels.enumerated() {
            let (px, py, pw, ph) = layout.image(i)
            canvas.text(panel.title, x: px, y: py - 4, size: 12, bold: true)
            canvas.image(panel.values, rows: panel.rows, cols: panel.cols, range: panel.range, x: px, y: py, width: pw, height: ph)
            canvas.frame(x: px, y: py, width: pw, height: ph, .black)
            frequencyAxis(canvas, topKHz: topKHz, x: px, y: py, height: ph)
            colourBar(canvas, panel: panel, x: px + pw + 14, y: py, height: ph)
            if i == panels.count - 1 { horizontalAxis(canvas, x, left: px, width: pw, y: py + ph) }
        }
        try canvas.writePNG(to: path)
        return layout
    }

    /// The step among 1, 2, 5 × 10ᵏ (times: also 15 s, 30 s, minutes) that gives at most `ticks` ticks.
    static func step(for extent: Double, ticks: Int, time: Bool = false) -> Double {
        let candidates: [Double] = time ? [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000]
            : [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
        return candidates.first { extent / $0 <= Double(ticks) } ?? candidates.last!
    }

    static func timeLabel(_ t: Double, step: Double) -> String {
        if step < 1 { return String(format: "%.1f s", t) }
        if step < 60 && t < 60 { return String(format: "%.0f s", t) }
        let s = Int(t.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private static func frequencyAxis(_ canvas: Canvas, topKHz: Double, x: Double, y: Double, height: Double) {
        let step = [0.5, 1, 2, 4, 5, 10, 20, 50].first { topKHz / $0 <= 5 } ?? 50
        var f = 0.0
        while f <= topKHz + 1e-9 {
            let py = y + height - f / topKHz * height
            canvas.line(from: (x - 4, py), to: (x, py), .black)
            canvas.text(f == f.rounded() ? String(format: "%.0f", f) : String(format: "%.1f", f), x: x - 7, y: py + 4, size: 10, anchor: .right)
            f += step
        }
        canvas.text("kHz", x: x - 46, y: y + height / 2, size: 11, anchor: .centre, vertical: true)
    }

    private static func horizontalAxis(_ canvas: Canvas, _ axis: PlotXAxis, left: Double, width: Double, y: Double) {
        let (extent, isTime, label): (Double, Bool, String)
        switch axis {
        case .time(let seconds): (extent, isTime, label) = (max(seconds, 1e-3), true, "time")
        case .index(let count, let name): (extent, isTime, label) = (Double(max(count, 1)), false, name)
        }
        let step = step(for: extent, ticks: 10, time: isTime)
        var t = 0.0
        while t <= extent + 1e-9 {
            let px = left + t / extent * width
            canvas.line(from: (px, y), to: (px, y + 4), .black)
            canvas.text(isTime ? timeLabel(t, step: step) : String(format: "%.0f", t), x: px, y: y + 17, size: 10, anchor: .centre)
            t += step
        }
        canvas.text(label, x: left + width / 2, y: y + 36, size: 11, anchor: .centre)
    }

    private static func colourBar(_ canvas: Canvas, panel: PlotPanel, x: Double, y: Double, height: Double) {
        let steps = 128
        let ramp = (0..<steps).map { panel.range.lowerBound + (panel.range.upperBound - panel.range.lowerBound) * Float($0) / Float(steps - 1) }
        canvas.image(ramp, rows: steps, cols: 1, range: panel.range, x: x, y: y, width: 14, height: height)
        canvas.frame(x: x, y: y, width: 14, height: height, .black)
        let span = Double(panel.range.upperBound - panel.range.lowerBound)
        let step = step(for: span, ticks: 5)
        var v = (Double(panel.range.lowerBound) / step).rounded(.up) * step
        while v <= Double(panel.range.upperBound) + 1e-9 {
            let py = y + height - (v - Double(panel.range.lowerBound)) / span * height
            canvas.line(from: (x + 14, py), to: (x + 18, py), .black)
            canvas.text(String(format: "%.0f", v), x: x + 21, y: py + 4, size: 10)
            v += step
        }
        canvas.text(panel.unit, x: x + 68, y: y + height / 2, size: 11, anchor: .centre, vertical: true)
    }
}
