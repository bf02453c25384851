-- | Markers that membound places exactly against heap censuses while the program runs.
--
-- GHC 9.0 keeps 'traceMarkerIO' events in 2 MiB eventlog buffers until they fill or the
-- program exits, so a watcher cannot see them live. 'marker' emits the same eventlog marker
-- and, when membound runs the program (it sets @MEMBOUND_MARKERS@ to a file in the run
-- directory), also appends one line @\<offset\> \<label\>@ to that file, where @offset@ is the
-- size of the program's @.hp@ file when the marker is called. The RTS flushes the @.hp@ census
-- by census and writes censuses only while every mutator is stopped, so that size is the end
-- of the last whole census: the marker belongs to the census after it, which is where the
-- eventlog reader places a 'traceMarkerIO' marker too.
--
-- It does not force a census (no 'performMajorGC'): calling it does not move the census
-- sequence that baselines record. See docs/live.md.
module Membound (marker) where

import Control.Exception (IOException, try)
import Debug.Trace (traceMarkerIO)
import System.Environment (getProgName, lookupEnv)
import System.Posix.Files (fileSize, getFileStatus)
import System.Posix.IO (OpenMode (..), append, closeFd, defaultFileFlags, fdWrite, openFd)
import System.Posix.Types (FileOffset)

-- | Marks the point of the run between the last census and the next one, e.g.
-- @marker "steady"@, for scenario phases such as @steady = { markers = ["steady", "end"] }@.
--
-- Plain file descriptors rather than 'System.IO' handles: a handle's buffers are kilobytes
-- of heap, which would show in the census after the marker.
marker :: String -> IO ()
marker label = do
  traceMarkerIO label
  side <- lookupEnv "MEMBOUND_MARKERS"
  case side of
    Nothing -> return ()
    Just path -> do
      name <- getProgName
      size <- try (fileSize <$> getFileStatus (name ++ ".hp")) :: IO (Either IOException FileOffset)
      -- No .hp (a run without -h): offset 0 places the marker before every census.
      let offset = either (const 0) toInteger size
      fd <- openFd path WriteOnly (Just 0o644) defaultFileFlags {append = True}
      _ <- fdWrite fd (show offset ++ " " ++ label ++ "\n")
      closeFd fd
