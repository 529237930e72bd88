/**
 * Weft's bridge to SLF4J: {@link dev.weft.slf4j.MdcBridge} carries the MDC of the forking
 * code into every task Weft forks.
 */
module dev.weft.slf4j {
    requires dev.weft;
    requires org.slf4j;
    exports dev.weft.slf4j;
}
