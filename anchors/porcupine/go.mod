module porcupine-anchor

go 1.19

require github.com/anishathalye/porcupine v1.3.0

// run.sh links ./porcupine to a checkout of Porcupine's tag v1.3.0 (commit
// 55508eb201b314c218d7e8412c3ea4b9499a5f53), so nothing is downloaded.
replace github.com/anishathalye/porcupine => ./porcupine
