/** Weft's demo programs; {@link dev.weft.demo.FirstLook} is the README's main job. */
module dev.weft.demo {
    requires dev.weft;
}
