{-# LANGUAGE BangPatterns #-}
-- Leaks whose holder is a library call in the program's own function, for membound's
-- attribution tests. Usage: Holders VARIANT N
--   record_lazy / record_fixed: a lazy record field, `head xs`, holds the whole input stream
--     while `summarise` walks it (fixed: the field is strict).
--   map_lazy / map_fixed: a lazy field, `max p (Map.size m)`, holds every old version of a
--     Data.Map that `indexAll` keeps updating in a `foldl'` (fixed: the field is strict).
module Main (main) where

import Data.List (foldl')
import qualified Data.Map.Strict as Map
import System.Environment (getArgs)

-- | The input stream, built as it is walked.
{-# NOINLINE inputs #-}
inputs :: Int -> [Int]
inputs n = [1 .. n]

data Stats = Stats {firstSeen :: Int, count :: !Int, total :: !Int}

data StatsFixed = StatsFixed {firstSeenF :: !Int, countF :: !Int, totalF :: !Int}

{-# NOINLINE summarise #-}
summarise :: [Int] -> (Int, Int, Int)
summarise xs = done (go (Stats (head xs) 0 0) xs)
  where
    go !s [] = s
    go !s (y : ys) = go s {count = count s + 1, total = total s + y} ys
    done s = (firstSeen s, count s, total s)

{-# NOINLINE summariseFixed #-}
summariseFixed :: [Int] -> (Int, Int, Int)
summariseFixed xs = done (go (StatsFixed (head xs) 0 0) xs)
  where
    go !s [] = s
    go !s (y : ys) = go s {countF = countF s + 1, totalF = totalF s + y} ys
    done s = (firstSeenF s, countF s, totalF s)

data Index = Index {table :: !(Map.Map Int Int), peak :: Int}

data IndexFixed = IndexFixed {tableF :: !(Map.Map Int Int), peakF :: !Int}

-- | One update of the table: the map's nodes are built here.
{-# NOINLINE grow #-}
grow :: Int -> Map.Map Int Int -> Map.Map Int Int
grow x = Map.insert (x `mod` 1000) x

{-# NOINLINE indexAll #-}
indexAll :: [Int] -> (Int, Int)
indexAll xs = done (foldl' step (Index Map.empty 0) xs)
  where
    step ix x = let m = grow x (table ix) in Index m (max (peak ix) (Map.size m))
    done ix = (Map.size (table ix), peak ix)

{-# NOINLINE indexAllFixed #-}
indexAllFixed :: [Int] -> (Int, Int)
indexAllFixed xs = done (foldl' step (IndexFixed Map.empty 0) xs)
  where
    step ix x = let m = grow x (tableF ix) in IndexFixed m (max (peakF ix) (Map.size m))
    done ix = (Map.size (tableF ix), peakF ix)

main :: IO ()
main = do
  args <- getArgs
  case args of
    [v, n] -> case v of
      "record_lazy" -> print (summarise (inputs (read n)))
      "record_fixed" -> print (summariseFixed (inputs (read n)))
      "map_lazy" -> print (indexAll (inputs (read n)))
      "map_fixed" -> print (indexAllFixed (inputs (read n)))
      _ -> usage
    _ -> usage
  where
    usage = ioError (userError "usage: Holders (record_lazy|record_fixed|map_lazy|map_fixed) N")
