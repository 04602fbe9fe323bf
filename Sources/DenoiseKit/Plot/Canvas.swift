internal import CCairo
import Foundation

/// A raster picture drawn with Cairo (the only file that calls it): rectangles, lines, text and
/// colour-mapped images, written as PNG.
final class Canvas {
    let width: Int, height: Int
    private let surface: OpaquePointer
    private let context: OpaquePointer

    init(width: Int, height: Int) throws(DenoiseError) {
        guard (1...16384).contains(width), (1...16384).contains(height) else {
            throw .invalidParameter("a picture must be 1 to 16384 pixels each way (got \(width) × \(height))")
        }
        self.width = width
        self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        context = cairo_create(surface)
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, cairo_status(context) == CAIRO_STATUS_SUCCESS else {
            throw .invalidParameter("cannot make a \(width) × \(height) picture (out of memory)")
        }
        cairo_select_font_face(context, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    struct Colour {
        var r: Double, g: Double, b: Double
        static let white = Colour(r: 1, g: 1, b: 1), black = Colour(r: 0, g: 0, b: 0), grey = Colour(r: 0.35, g: 0.35, b: 0.35)
    }

    func fill(x: Double, y: Double, width: Double, height: Double, _ colour: Colour) {
        cairo_set_source_rgb(context, colour.r, colour.g, colour.b)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    func line(from a: (Double, Double), to b: (Double, Double), _ colour: Colour, width: Double = 1) {
        cairo_set_source_rgb(context, colour.r, colour.g, colour.b)
        cairo_set_line_width(context, width)
        cairo_move_to(context, a.0, a.1)
        cairo_line_to(context, b.0, b.1)
        cairo_stroke(context)
    }

    func frame(x: Double, y: Double, width: Double, height: Double, _ colour: Colour) {
        cairo_set_source_rgb(context, colour.r, colour.g, colour.b)
        cairo_set_line_width(context, 1)
        cairo_rectangle(context, x + 0.5, y + 0.5, width - 1, height - 1)
        cairo_stroke(context)
    }

    enum Anchor { case left, centre, right }

    /// `text` with its baseline at `y`, placed by `anchor` at `x`; `vertical` turns it a quarter left.
    func text(_ text: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .left, bold: Bool = false,
              vertical: Bool = false, _ colour: Colour = .black) {
        cairo_select_font_face(context, "sans-serif", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        let shift = anchor == .left ? 0 : anchor == .centre ? extents.x_advance / 2 : extents.x_advance
        cairo_save(context)
        cairo_translate(context, x, y)
        if vertical { cairo_rotate(context, -Double.pi / 2) }
        cairo_move_to(context, -shift, 0)
        cairo_set_source_rgb(context, colour.r, colour.g, colour.b)
        cairo_show_text(context, text)
        cairo_restore(context)
    }

    /// Values [rows × cols] (column-major, row 0 at the bottom) mapped from `range` to the colour map
    /// and stretched into the rectangle: nearest neighbour, so each value keeps a sharp cell.
    func image(_ values: [Float], rows: Int, cols: Int, range: ClosedRange<Float>, x: Double, y: Double, width: Double, height: Double) {
        guard rows > 0, cols > 0 else { return }
        let image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(cols), Int32(rows))
        defer { cairo_surface_destroy(image) }
        cairo_surface_flush(image)
        let stride = Int(cairo_image_surface_get_stride(image))
        guard let data = cairo_image_surface_get_data(image) else { return }
        let colours = Magma.rgb, span = max(range.upperBound - range.lowerBound, .leastNormalMagnitude)
        for c in 0..<cols {
            for r in 0..<rows {
                let v = values[c * rows + r]
                let k = v.isFinite ? Int((min(max((v - range.lowerBound) / span, 0), 1) * 255).rounded()) : 0
                let pixel = data + (rows - 1 - r) * stride + 4 * c
                // CAIRO_FORMAT_RGB24 is one native-endian 32-bit word per pixel: 0x00RRGGBB.
                let word = UInt32(colours[k].r) << 16 | UInt32(colours[k].g) << 8 | UInt32(colours[k].b)
                pixel.withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee = word }
            }
        }
        cairo_surface_mark_dirty(image)
        cairo_save(context)
        cairo_rectangle(context, x, y, width, height)
        cairo_clip(context)
        cairo_translate(context, x, y)
        cairo_scale(context, width / Double(cols), height / Double(rows))
        cairo_set_source_surface(context, image, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
        cairo_paint(context)
        cairo_restore(context)
    }

    /// Writes the picture as PNG, atomically (temporary file, then rename).
    func writePNG(to path: String) throws(DenoiseError) {
        cairo_surface_flush(surface)
        try AtomicOutput.write(to: path) { (destination, _) throws(DenoiseError) in
            let status = cairo_surface_write_to_png(surface, destination)
            guard status == CAIRO_STATUS_SUCCESS else {
                throw .unwritableOutput(path: path, reason: String(cString: cairo_status_to_string(status)))
            }
        }
    }
}

/// A PNG read back (for checking pictures): its size and 0xRRGGBB pixels, row by row from the top.
public struct DecodedPNG: Sendable {
    public let width: Int, height: Int
    public let pixels: [UInt32]

    public init(contentsOf path: String) throws(DenoiseError) {
        let surface = cairo_image_surface_create_from_png(path)
        defer { cairo_surface_destroy(surface) }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface) else {
            throw .unreadableInput(path: path, reason: "not a PNG Cairo can read (\(String(cString: cairo_status_to_string(status))))")
        }
        let w = Int(cairo_image_surface_get_width(surface)), h = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        var pixels = [UInt32](repeating: 0, count: w * h)
        for y in 0..<h {
            (data + y * stride).withMemoryRebound(to: UInt32.self, capacity: w) { row in
                for x in 0..<w { pixels[y * w + x] = row[x] & 0xFF_FFFF }
            }
        }
        (width, height, self.pixels) = (w, h, pixels)
    }

    public subscript(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }
}
